"""Every spider against real captures served from 127.0.0.1, through its base-URL setting.

One child-process crawl covers all sources at once (Weibo m.weibo.cn timeline/search/ajax/
RSSHub, WeChat feed + article pages, Discuz list/thread (UTF-8 and GB18030 with a wrong
header) and mobile API, Tieba, people.com.cn 留言板 records, news articles via trafilatura).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from crawl_helpers import FeedServer, add_source, crawl, get_source
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.mentions.models import Mention
from core.timeutil import to_local
from crawlers.feeds import parse_feed
from tests.conftest import realdata

JSON = {"Content-Type": "application/json; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def mentions(engine: sa.Engine, source_id: int) -> list[Mention]:
    with Session(engine) as session:
        return list(session.exec(select(Mention).where(Mention.source_id == source_id).order_by(col(Mention.id))))


def test_each_spider_stores_the_right_posts_from_real_captures(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    base = feed_server.url("")
    s = feed_server.serve
    # --- Weibo -----------------------------------------------------------------------------
    timeline = realdata("weibo/json/m_weibo_cn_getIndex_containerid_1076035529945701_page2_2019.json")
    s("/api/container/getIndex", timeline.read_bytes(), headers=JSON)
    s("/statuses/extend", realdata("weibo/json/m_weibo_cn_statuses_extend_4383487819465288_2019-06.json")
      .read_bytes(), headers=JSON)
    wb_tl = add_source(db, "微博-用户", f"{base}/api/container/getIndex", kind="weibo",
                       params={"mode": "timeline", "containerid": "1076035529945701", "base_url": base,
                               "max_pages": 1})
    search = realdata("weibo/json/m_weibo_cn_getIndex_search_containerid_100103type61_q_gv_2019-06"
                      ".reconstructed.json")
    search_base = feed_server.url("/search")
    s("/search/api/container/getIndex", search.read_bytes(), headers=JSON)
    wb_search = add_source(db, "微博-搜索gv", search_base, kind="weibo",
                           params={"mode": "search", "keyword": "gv", "base_url": search_base, "max_pages": 1})
    ajax_base = feed_server.url("/pc")
    s("/pc/ajax/statuses/mymblog", realdata("weibo/json/weibo_com_ajax_feed_timeline_statuses_2022-03.json")
      .read_bytes(), headers=JSON)
    wb_ajax = add_source(db, "微博-网页版", ajax_base, kind="weibo",
                         params={"mode": "ajax", "uid": "3612749480", "base_url": ajax_base, "max_pages": 1})
    rss = s("/rsshub/weibo/user/1935396210",
            realdata("weibo/rss/rsshub_weibo_user_1935396210.real_items_only.xml").read_bytes(),
            headers={"Content-Type": "application/rss+xml"})
    wb_rss = add_source(db, "微博-RSSHub", rss, kind="weibo", params={"mode": "rss"})
    # --- WeChat ----------------------------------------------------------------------------
    feed_bytes = realdata("wechat/rss_hellodword_wechat-feeds/MzA3NTE1MjEwNQ==.xml").read_bytes()
    links = [e.url for e in parse_feed(feed_bytes).entries][:5]
    pages = ["magichtml_wechat_article_MzAxMzgxNzUxOA_2650804290.html", "wechatsogou_article_detail_iframe.html",
             "wechatsogou_article_detail_backgroud-image.html", "wechatsogou_article_detail_expired.html"]
    for link, page in zip(links, pages, strict=False):
        s(link.replace("https://mp.weixin.qq.com", ""), realdata(f"wechat/article_html/{page}").read_bytes(),
          headers=HTML)
    wx = add_source(db, "公众号-北京12345", s("/wechat/feed.xml", feed_bytes, headers={"Content-Type": "text/xml"}),
                    kind="wechat", params={"base_url": base, "max_articles": 5})
    # --- Forums ----------------------------------------------------------------------------
    s("/forum-1-1.html", realdata("forums/discuz/gne_discuzX32_forumdisplay_list_nsh163_rendered.html")
      .read_bytes(), headers=HTML)
    s("/thread-202643-1-1.html", realdata("forums/discuz/magichtml_discuzX33_csolbbs_tid38672.html").read_bytes(),
      headers=HTML)
    gbk = realdata("forums/discuz/magichtml_discuzX33_csolbbs_tid38733.html").read_text(encoding="utf-8")
    s("/thread-202835-1-1.html", gbk.replace("charset=utf-8", "charset=gbk").encode("gb18030"),
      headers=HTML)  # GBK bytes under a header that says UTF-8
    dz = add_source(db, "逆水寒论坛", feed_server.url("/forum-1-1.html"), kind="forum",
                    params={"base_url": base, "max_threads": 2})
    dzm = add_source(db, "声色论坛-二手", s(
        "/api/mobile/index.php", realdata("forums/discuz_mobile_api/discuz_mobile_api_v4_forumdisplay_fid359_"
                                          "singse_GBKsite_2016.json").read_bytes(), headers=JSON), kind="forum",
        params={"include_sticky": True, "max_threads": 50})
    s("/f", realdata("forums/tieba/gne_tieba_list_page_rendered.html").read_bytes(), headers=HTML)
    s("/p/6854540762", realdata("forums/tieba/magichtml_tieba_thread_p8057560733.html").read_bytes(), headers=HTML)
    tb = add_source(db, "贴吧-热议", feed_server.url("/f?kw=%E7%83%AD%E8%AE%AE"), kind="forum",
                    params={"platform": "tieba", "max_threads": 1})
    # --- 留言板 ----------------------------------------------------------------------------
    with realdata("datasets/fuzhou_12345_liuyan_weibo_timeofmei/people_liuyan_fuzhou_env_120.csv").open(
            encoding="utf-8") as f:
        rows = [{"tid": int(r["id"]), **{k: v for k, v in r.items() if k != "id"}} for r in csv.DictReader(f)][:10]
    s("/v1/threads/list/df", json.dumps({"resultCode": "200", "resultMsg": "success",
                                         "resultData": {"data": rows}}, ensure_ascii=False).encode(), headers=JSON)
    bd = add_source(db, "人民网留言板-福州", feed_server.url("/v1/threads/list/df"), kind="board",
                    params={"method": "POST", "form": {"fid": "539", "rows": "10"}})
    # --- News ------------------------------------------------------------------------------
    acn = realdata("encoding_gbk/chardet_GB2312_acnnewswire.net.xml").read_bytes()
    news_links = [e.url for e in parse_feed(acn).entries][:2]
    for link, page in zip(news_links, ["magichtml_kepu_gov_cn_content_1755244.html",
                                       "magichtml_people_com_cn_40232587.html"], strict=True):
        s(link.split("acnnewswire.net", 1)[1],
          realdata(f"news_gov_html/{page}").read_bytes(), headers={"Content-Type": "text/html"})
    nw = add_source(db, "新闻-订阅", s("/news.xml", acn, headers={"Content-Type": "text/xml"}), kind="news",
                    params={"base_url": base, "max_articles": 2})

    report = crawl()["sources"]

    # Weibo timeline: 11 posts, counts, relative date "06-27", the long one completed.
    assert (report["微博-用户"]["status"], report["微博-用户"]["new"]) == ("ok", 11), report["微博-用户"]
    posts = {m.external_id: m for m in mentions(db, wb_tl)}
    first = posts["4387933362623405"]
    assert (first.author, first.reposts, first.comments, first.likes) == ("绝地求生刺激战场游戏攻略", 6, 3, 6)
    assert first.url == "https://weibo.com/5529945701/HATy0b0sZ"
    assert to_local(first.published_at).strftime("%m-%d %H:%M") == "06-27 00:00"  # type: ignore[arg-type]
    assert first.channel == "weibo" and first.raw_sha256 and "//转发" in first.text
    assert posts["4393264377139656"].text.startswith("😄😆😊")  # from statuses/extend
    # Search results nest mblogs in card_group; the embedded longText is used.
    found = mentions(db, wb_search)
    assert len(found) == 5 and all(m.channel == "weibo" for m in found)
    assert any("字符串转换出错是我不好" in m.text for m in found)
    # weibo.com ajax: text_raw, mblogid, absolute dates; long ones kept truncated when longtext fails.
    pc = {m.external_id: m for m in mentions(db, wb_ajax)}
    assert len(pc) == 10
    assert pc["4750217209449536"].published_at == datetime(2022, 3, 23, 8, 18, 20, tzinfo=UTC)
    assert pc["4750217209449536"].url == "https://weibo.com/3612749480/Ll4nuDEfS"
    assert (pc["4750206484616141"].comments, pc["4750206484616141"].likes) == (254, 879)
    assert report["微博-网页版"]["status"] == "ok" and report["微博-网页版"]["warnings"]
    # The capture lists PzxMFDdIO twice (same guid and link): stored once.
    assert (report["微博-RSSHub"]["fetched"], len(mentions(db, wb_rss))) == (3, 2)
    # WeChat: 3 articles parsed, the expired link is a warning, the missing page too.
    wx_posts = {m.title: m for m in mentions(db, wx)}
    assert set(wx_posts) == {"绥德：33名退役军人被表彰", "【视频】石榴花开", "4月6日周五【新闻速览一分钟】"}
    sd = wx_posts["绥德：33名退役军人被表彰"]
    assert (sd.author, sd.published_at) == ("掌上绥德", datetime(2022, 7, 31, 13, 34, 31, tzinfo=UTC))
    assert "7月29日上午，在第95个“八一”建军节来临之际" in sd.text and sd.url == links[0]
    assert any("链接已过期" in w for w in report["公众号-北京12345"]["warnings"])
    assert report["公众号-北京12345"]["pages_failed"] >= 2
    # Discuz: opening post + replies, GBK page decoded despite the header.
    # Ids come from the thread URL the list gave (the pages served there are other real threads).
    dz_posts = {m.external_id: m for m in mentions(db, dz)}
    opening = dz_posts["202643"]
    assert (opening.title, opening.author) == ("建议对鼠神进行改版", "前程往事")
    assert (opening.views, opening.comments) == (3481, 3)
    assert opening.published_at == datetime(2024, 4, 5, 15, 20, 45, tzinfo=UTC)
    assert opening.url == "https://n.netease.com/thread-202643-1-1.html"
    assert dz_posts["202643#53885"].text == "顶你，鼠神真的是太*了，攻击低，*太少，玩灾变居然还要自己买*"
    assert dz_posts["202835"].title == "游戏全屏问题，希望大家能出个主意！！"
    assert dz_posts["202835#53963"].author == "大虾米点"
    mobile = {m.external_id: m for m in mentions(db, dzm)}
    assert len(mobile) == 22
    car = mobile["181853"]
    assert (car.title, car.author) == ("转让2014款新帝豪1.5L 三厢CVT精英版顶配", "xiehanging")
    assert (car.views, car.comments) == (444, 8)
    assert car.published_at == datetime.fromtimestamp(1468511032, UTC)
    tb_posts = {m.external_id: m for m in mentions(db, tb)}
    assert tb_posts["6854540762"].title == "什么样的人才算是佛系？在线等，挺急的"
    assert tb_posts["6854540762#146215805931"].text == "我就很佛系"
    assert tb_posts["6854540762#146215805931"].published_at == datetime(2022, 11, 26, 7, 19, tzinfo=UTC)
    # 留言板: the records as the API names them; the form was posted.
    boards = {m.external_id: m for m in mentions(db, bd)}
    assert len(boards) == 10
    noise = boards["9356769"]
    assert noise.title == "福清党校旁，融创保利工地深夜施工噪音扰民！"
    assert noise.published_at == datetime(2021, 3, 2, 13, 41, 26, tzinfo=UTC)
    assert noise.url == "https://liuyan.people.com.cn/threads/content?tid=9356769"
    assert b"fid=539" in feed_server.bodies[0][1]
    # News: trafilatura's main text, the feed's link kept as the URL.
    news = mentions(db, nw)
    assert len(news) == 2
    kepu = next(m for m in news if "长三角" in m.title)
    assert "新华社上海11月30日电" in kepu.text and "相关链接" not in kepu.text[:50]
    assert all(get_source(db, n).health == "ok" for n in report)
    with Session(db) as session:
        assert not session.exec(select(Alert)).all()

    # Second crawl: nothing new, unchanged threads and stored articles are not fetched again.
    before = len(feed_server.hits("/thread-202643-1-1.html"))
    again = crawl()["sources"]
    # The news feed's next two entries have no page on this server: kept with the feed's text.
    assert {n: r["new"] for n, r in again.items() if r["new"]} == {"新闻-订阅": 2}
    kept = [m for m in mentions(db, nw) if json.loads(m.raw).get("partial")]
    assert sorted(m.url for m in kept) == sorted(e.url for e in parse_feed(acn).entries[2:4])
    assert len(feed_server.hits("/thread-202643-1-1.html")) == before
    assert get_source(db, "微博-用户").cursor["since_id"] == "4394384827138748"
