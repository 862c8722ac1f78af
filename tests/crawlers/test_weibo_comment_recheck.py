"""Comments added to a recent Weibo post after its first crawl are fetched on a later crawl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from crawl_helpers import FeedServer, add_source, crawl, get_source
from sqlmodel import Session, col, select

from core.mentions.models import Mention
from tests.conftest import realdata

JSON = {"Content-Type": "application/json; charset=utf-8"}
MID = "4383183661430868"
TIMELINE = "weibo/json/m_weibo_cn_getIndex_containerid_1076031669879400_2019-06.json"
HOTFLOW = "weibo/json/m_weibo_cn_comments_hotflow_4383183661430868_2019-06.json"
NO_COMMENTS = json.dumps({"ok": 0, "msg": "这里还没有内容"}, ensure_ascii=False).encode()
# The captures are from 2019: a window that reaches back to them stands in for "recent".
SINCE_2019 = 24 * 365 * 20


def _timeline(comment_count_bump: int) -> bytes:
    data: Any = json.loads(realdata(TIMELINE).read_text(encoding="utf-8"))
    for card in data["data"]["cards"]:
        mblog = card.get("mblog")
        if mblog and str(mblog.get("id")) == MID:
            mblog["comments_count"] = int(mblog["comments_count"]) + comment_count_bump
    return json.dumps(data, ensure_ascii=False).encode()


def test_comments_of_a_recent_post_are_fetched_again_when_its_count_grows(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    base = feed_server.url("")
    hotflow_path = f"/comments/hotflow?id={MID}&mid={MID}&max_id_type=0"
    hotflow: Any = json.loads(realdata(HOTFLOW).read_text(encoding="utf-8"))
    hotflow["data"]["max_id"] = 0  # one page
    feed_server.serve("/api/container/getIndex", _timeline(0), headers=JSON)
    feed_server.serve("/comments/hotflow", NO_COMMENTS, headers=JSON)
    five = {**hotflow, "data": {**hotflow["data"], "data": hotflow["data"]["data"][:5]}}
    feed_server.serve(hotflow_path, json.dumps(five, ensure_ascii=False).encode(), headers=JSON)
    src = add_source(db, "微博-评论复查", f"{base}/api/container/getIndex", kind="weibo",
                     params={"mode": "timeline", "containerid": "1076031669879400", "base_url": base, "max_pages": 1,
                             "long_text": False, "comments": True, "comments_recheck_hours": SINCE_2019})

    crawl()
    assert len(feed_server.hits(hotflow_path)) == 1
    assert get_source(db, "微博-评论复查").cursor["comment_counts"][MID] > 0
    first = len(_comments(db, src))

    # Same counts: the stored posts are not asked again.
    crawl()
    assert len(feed_server.hits(hotflow_path)) == 1

    # Five more comments were written under the post since: fetched, the old ones not stored twice.
    feed_server.serve("/api/container/getIndex", _timeline(5), headers=JSON)
    feed_server.serve(hotflow_path, json.dumps(hotflow, ensure_ascii=False).encode(), headers=JSON)
    report = crawl()["sources"]["微博-评论复查"]
    assert len(feed_server.hits(hotflow_path)) == 2
    comments = _comments(db, src)
    assert len(comments) == len({c.external_id for c in comments}) == 21  # 20 + one inline reply
    assert report["new"] == 21 - first > 0


def _comments(db: sa.Engine, src: int) -> list[Mention]:
    with Session(db) as session:
        return list(session.exec(select(Mention).where(col(Mention.source_id) == src,
                                                       col(Mention.external_id).startswith("comment:"))).all())
