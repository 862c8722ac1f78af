"""Nothing the list showed is lost when a detail page fails; refusals are alerted as such.

Real captures served from 127.0.0.1: a Discuz! board list and a Tieba list whose thread pages
fail (404, deleted, login-only), a GB2312 news feed whose articles cannot be downloaded, and
m.weibo.cn answering 432 (its anti-crawl status).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from crawl_helpers import FeedServer, add_source, closed_port, crawl, get_source
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.mentions.models import Mention
from crawlers.feeds import parse_feed
from crawlers.forums import parse_discuz_list, parse_tieba_list
from tests.conftest import realdata

HTML = {"Content-Type": "text/html; charset=utf-8"}
DELETED = "<html><body><div class='alert_error'>抱歉，指定的主题不存在或已被删除或正在被审核</div></body></html>"


def stored(engine: sa.Engine, source_id: int) -> list[Mention]:
    with Session(engine) as session:
        return list(session.exec(select(Mention).where(Mention.source_id == source_id).order_by(col(Mention.id))))


def test_list_rows_and_feed_items_are_kept_when_their_pages_fail_and_432_is_blocked(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    base = feed_server.url("")
    s = feed_server.serve
    now = datetime.now(UTC)
    # Discuz!: three threads, each page failing another way.
    dz_page = realdata("forums/discuz/gne_discuzX32_forumdisplay_list_nsh163_rendered.html")
    s("/forum-1-1.html", dz_page.read_bytes(), headers=HTML)
    dz_threads = [t for t in parse_discuz_list(dz_page.read_text(encoding="utf-8"), base + "/forum-1-1.html", now)
                  if not t.sticky][:2]
    s(urlsplit(dz_threads[0].url).path, status=404)
    s(urlsplit(dz_threads[1].url).path, DELETED.encode(), headers=HTML)
    dz = add_source(db, "论坛", feed_server.url("/forum-1-1.html"), kind="forum",
                    params={"base_url": base, "max_threads": 2})
    # Tieba: the thread pages are gone.
    tb_page = realdata("forums/tieba/gne_tieba_list_page_rendered.html")
    s("/f", tb_page.read_bytes(), headers=HTML)
    tb_threads = [t for t in parse_tieba_list(tb_page.read_text(encoding="utf-8"), base + "/f?kw=x", now)
                  if not t.sticky][:2]
    tb = add_source(db, "贴吧", feed_server.url("/f?kw=x"), kind="forum",
                    params={"platform": "tieba", "max_threads": 2, "base_url": base})
    # News feed: no article can be downloaded (the server answers 404 for each).
    acn = realdata("encoding_gbk/chardet_GB2312_acnnewswire.net.xml").read_bytes()
    entries = parse_feed(acn).entries[:2]
    nw = add_source(db, "新闻", s("/news.xml", acn, headers={"Content-Type": "text/xml"}), kind="news",
                    params={"base_url": base, "max_articles": 2})
    # m.weibo.cn: 432
    s("/wb/api/container/getIndex", status=432)
    add_source(db, "微博432", feed_server.url("/wb"), kind="weibo",
               params={"uid": "1", "base_url": feed_server.url("/wb"), "max_pages": 1})

    # m.weibo.cn sends an expired session to its login page, which does not even load.
    login = f"http://127.0.0.1:{closed_port()}/signin/welcome?entry=mweibo&r=https%3A%2F%2Fm.weibo.cn%2F"
    s("/wbl/api/container/getIndex", status=302, headers={"Location": login})
    add_source(db, "微博登录跳转", feed_server.url("/wbl"), kind="weibo",
               params={"uid": "1", "base_url": feed_server.url("/wbl"), "max_pages": 1})

    report = crawl()["sources"]

    got = stored(db, dz)
    assert sorted((m.external_id, m.title, m.author, m.comments, m.views, m.published_at) for m in got) == sorted(
        (t.tid, t.title, t.author, t.replies, t.views, t.published_at) for t in dz_threads)
    assert all(json.loads(m.raw)["partial"] is True for m in got)
    assert {json.loads(m.raw)["partial_reason"] for m in got} >= {"HTTP 404"}
    got_tb = stored(db, tb)
    assert sorted((m.external_id, m.title, m.author, m.comments) for m in got_tb) == sorted(
        (t.tid, t.title, t.author, t.replies) for t in tb_threads)
    assert report["贴吧"]["status"] == "ok" and len(report["贴吧"]["warnings"]) == 2
    news = stored(db, nw)
    assert sorted((m.url, m.title, m.text, m.author, m.published_at) for m in news) == sorted(
        (e.url, e.title, e.text, e.author, e.published_at) for e in entries)
    assert report["新闻"]["pages_failed"] == 0 and get_source(db, "新闻").health == "ok"
    assert report["微博432"]["errors"] == ["HTTP 432"]
    assert get_source(db, "微博432").health == "blocked"
    with Session(db) as session:
        alerts = session.exec(select(Alert).where(col(Alert.kind) == "source")).all()
    assert report["微博登录跳转"]["errors"][0].startswith("跳转到登录页面")
    assert get_source(db, "微博登录跳转").health == "login_expired"
    assert sorted(a.level for a in alerts) == ["blocked", "login_expired"]
