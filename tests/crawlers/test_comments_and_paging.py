"""Weibo comments (comments/hotflow with its max_id cursor, legacy api/comments/show) and 留言板
paging, against real captures served from 127.0.0.1; one child-process crawl per scenario."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from crawl_helpers import FeedServer, add_source, crawl, get_source
from sqlmodel import Session, col, select

from core.mentions.models import Mention
from core.sources.models import Source
from core.timeutil import to_local
from tests.conftest import realdata

JSON = {"Content-Type": "application/json; charset=utf-8"}
MID = "4383183661430868"  # the post both comment captures belong to
TIMELINE = "weibo/json/m_weibo_cn_getIndex_containerid_1076031669879400_2019-06.json"
HOTFLOW = "weibo/json/m_weibo_cn_comments_hotflow_4383183661430868_2019-06.json"
LEGACY = "weibo/json/m_weibo_cn_api_comments_show_4383183661430868_page1_2019-06.json"
NO_COMMENTS = json.dumps({"ok": 0, "msg": "这里还没有内容"}, ensure_ascii=False).encode()


def mentions(engine: sa.Engine, source_id: int) -> list[Mention]:
    with Session(engine) as session:
        return list(session.exec(select(Mention).where(Mention.source_id == source_id).order_by(col(Mention.id))))


def set_cursor(engine: sa.Engine, name: str, cursor: dict[str, Any]) -> None:
    with Session(engine) as session:
        source = session.exec(select(Source).where(Source.name == name)).one()
        source.cursor = cursor
        session.add(source)
        session.commit()


def load(relative: str) -> Any:
    return json.loads(realdata(relative).read_text(encoding="utf-8"))


def test_hotflow_comments_follow_max_id_and_are_stored_once(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    base = feed_server.url("")
    s = feed_server.serve
    s("/api/container/getIndex", realdata(TIMELINE).read_bytes(), headers=JSON)
    hotflow = load(HOTFLOW)
    first = f"/comments/hotflow?id={MID}&mid={MID}&max_id_type=0"
    s(first, json.dumps(hotflow, ensure_ascii=False).encode(), headers=JSON)
    # Page 2 (only one hotflow page was captured): the legacy capture's comments of the same post
    # under the hotflow envelope, max_id 0 = last page. 9 of its 12 repeat page 1.
    legacy = load(LEGACY)["data"]
    page2 = {"ok": 1, "data": {**hotflow["data"], "data": legacy["data"] + legacy["hot_data"], "max_id": 0}}
    second = f"/comments/hotflow?id={MID}&mid={MID}&max_id={hotflow['data']['max_id']}&max_id_type=0"
    s(second, json.dumps(page2, ensure_ascii=False).encode(), headers=JSON)
    s("/comments/hotflow", NO_COMMENTS, headers=JSON)  # the other posts: a valid empty answer
    src = add_source(db, "微博-带评论", f"{base}/api/container/getIndex", kind="weibo",
                     params={"mode": "timeline", "containerid": "1076031669879400", "base_url": base,
                             "max_pages": 1, "long_text": False, "comments": True})
    started = datetime.now(UTC)

    report = crawl()["sources"]["微博-带评论"]

    assert report["status"] == "ok", report
    stored = {m.external_id: m for m in mentions(db, src)}
    comments = {k: m for k, m in stored.items() if k.startswith("comment:")}
    # 20 on page 1 + 1 inline reply, 3 new on page 2; the repeats stored once.
    assert (len(stored) - len(comments), len(comments)) == (10, 24)
    assert len(feed_server.hits(second)) == 1 and len(feed_server.hits(first)) == 1
    post_url = stored[MID].url
    c = comments["comment:4383183984547669"]
    assert (c.author, c.text, c.likes, c.channel) == ("护舒宝", "宝宝陪你一起搬陪你一起吃[羞嗒嗒]", 6183, "weibo")
    assert c.published_at == datetime(2019, 6, 14, 12, 39, 20, tzinfo=UTC)  # 20:39:20 +0800
    assert c.url == f"{post_url}#comment-4383183984547669"
    assert json.loads(c.raw)["floor_number"] == 916
    reply = comments["comment:4383191449773449"]  # nested under the comment above
    assert (reply.author, reply.text) == ("护舒宝", "回复@热爱CP:那阿丝们一起搬叭[doge]")
    link = comments["comment:4383206419276344"]
    assert link.text == "迪丽热巴哇[憧憬]看起来好好吃哦，为了吃搬砖是不是都充满了动力哈哈哈哈💕@Dear-迪丽热巴"
    # First seen on page 1 (5458 likes); its page-2 copy (5389) is a duplicate.
    assert comments["comment:4383184256927204"].likes == 5458
    late = comments["comment:4383931988671914"]  # from page 2, "刚刚"
    assert (late.author, late.text, late.likes) == ("Y-6_668", "我乘着风有晴天路过", 0)
    assert late.published_at is not None and abs(late.published_at - started) < timedelta(minutes=5)

    # Re-crawl from scratch (cursor cleared): posts and comments all come again, none is stored twice.
    set_cursor(db, "微博-带评论", {})
    again = crawl()["sources"]["微博-带评论"]
    assert (again["status"], again["new"]) == ("ok", 0), again
    assert again["duplicate"] >= 34 and len(mentions(db, src)) == 34


def test_legacy_comments_api_and_login_wall(db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    s = feed_server.serve
    old = feed_server.url("/old")
    s("/old/api/container/getIndex", realdata(TIMELINE).read_bytes(), headers=JSON)
    s(f"/old/api/comments/show?id={MID}&page=1", realdata(LEGACY).read_bytes(), headers=JSON)
    s("/old/api/comments/show", b'{"ok": 0}', headers=JSON)  # page 2 and the other posts: nothing
    legacy_src = add_source(db, "微博-旧评论接口", f"{old}/api/container/getIndex", kind="weibo",
                            params={"mode": "timeline", "containerid": "1076031669879400", "base_url": old,
                                    "max_pages": 1, "long_text": False, "comments": True,
                                    "comments_api": "show"})
    wall = feed_server.url("/wall")
    s("/wall/api/container/getIndex",
      realdata("weibo/json/m_weibo_cn_getIndex_containerid_1076035529945701_page2_2019.json").read_bytes(),
      headers=JSON)
    s("/wall/comments/hotflow", json.dumps({"ok": -100, "url": "https://passport.weibo.cn/signin/welcome?entry=mweibo"})
      .encode(), headers=JSON)
    wall_src = add_source(db, "微博-评论要登录", f"{wall}/api/container/getIndex", kind="weibo",
                          params={"mode": "timeline", "containerid": "1076035529945701", "base_url": wall,
                                  "max_pages": 1, "long_text": False, "comments": True})

    report = crawl()["sources"]

    assert report["微博-旧评论接口"]["status"] == "ok", report["微博-旧评论接口"]
    comments = {m.external_id: m for m in mentions(db, legacy_src) if m.external_id.startswith("comment:")}
    assert len(comments) == 12  # data[2] + hot_data[10]
    assert len(feed_server.hits(f"/old/api/comments/show?id={MID}&page=2")) == 1  # data.max says more
    first = comments["comment:4383932071637949"]
    assert (first.author, first.text, first.likes) == ("迪热热的毛裤诶", "吃的完吗？要不我帮你解决一点儿[太开心]", 0)
    hot = comments["comment:4383185208814242"]
    assert (hot.author, hot.text, hot.likes) == ("Wendi·rb", "回复@世间本空:没礼貌，我想吃您[doge]", 1553)
    assert to_local(hot.published_at).strftime("%m-%d") == "06-14"  # type: ignore[arg-type]
    # {"ok": -100} on the comments: the posts are kept, the source is flagged as needing a login.
    assert report["微博-评论要登录"]["status"] == "error"
    assert any("登录" in e for e in report["微博-评论要登录"]["errors"])
    assert len(mentions(db, wall_src)) == 11
    assert get_source(db, "微博-评论要登录").health == "login_expired"
    assert get_source(db, "微博-旧评论接口").health == "ok"


def test_board_pages_until_empty_short_or_old(db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    with realdata("datasets/fuzhou_12345_liuyan_weibo_timeofmei/people_liuyan_fuzhou_env_120.csv").open(
            encoding="utf-8") as f:
        rows = [{"tid": int(r["id"]), **{k: v for k, v in r.items() if k != "id"}} for r in csv.DictReader(f)]
    rows.sort(key=lambda r: -int(r["tid"]))  # the list API answers newest first

    def page(records: list[dict[str, Any]]) -> bytes:
        return json.dumps({"resultCode": "200", "resultMsg": "success", "resultData": {"data": records}},
                          ensure_ascii=False).encode()

    pages = [rows[0:50], rows[50:100], rows[100:120], []]
    for board in ("a", "b", "c"):
        for n, records in enumerate(pages, start=1):
            feed_server.serve(f"/{board}/list?pageNo={n}", page(records), headers=JSON)
    detail = "https://liuyan.people.com.cn/threads/content?tid={id}&board="
    params = {"page_param": "pageNo", "max_pages": 6}
    # a: no page size known, stops at the empty page 4
    a = add_source(db, "留言板-a", feed_server.url("/a/list"), kind="board", params=params)
    # b: 50 a page, so the short page 3 is the last
    b = add_source(db, "留言板-b", feed_server.url("/b/list"), kind="board",
                   params={**params, "page_size": 50, "detail_url": detail + "b"})
    # c: incremental, stored up to rows[70] before: stops in page 2
    c = add_source(db, "留言板-c", feed_server.url("/c/list"), kind="board",
                   params={**params, "detail_url": detail + "c"})
    set_cursor(db, "留言板-c", {"last_id": rows[70]["tid"]})

    report = crawl()["sources"]

    assert all(report[n]["status"] == "ok" for n in ("留言板-a", "留言板-b", "留言板-c")), report
    assert [len(feed_server.hits(f"/a/list?pageNo={n}")) for n in range(1, 6)] == [1, 1, 1, 1, 0]
    assert [len(feed_server.hits(f"/b/list?pageNo={n}")) for n in range(1, 5)] == [1, 1, 1, 0]
    assert [len(feed_server.hits(f"/c/list?pageNo={n}")) for n in range(1, 4)] == [1, 1, 0]
    stored_a = {m.external_id: m for m in mentions(db, a)}
    assert len(stored_a) == 120 and report["留言板-a"]["new"] == 120
    assert stored_a["9356769"].title == "福清党校旁，融创保利工地深夜施工噪音扰民！"
    assert stored_a[str(rows[119]["tid"])].url.endswith(f"tid={rows[119]['tid']}")  # from page 3
    assert len(mentions(db, b)) == 120
    assert {m.external_id for m in mentions(db, c)} == {str(r["tid"]) for r in rows[:70]}
    assert get_source(db, "留言板-c").cursor["last_id"] == rows[0]["tid"]
