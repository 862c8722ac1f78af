"""留言板 list APIs that page by lastItem/position (liuyan.people.com.cn v1/threads/list/df)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from urllib.parse import parse_qs

import sqlalchemy as sa
from crawl_helpers import FeedServer, add_source, crawl
from sqlmodel import Session, select

from core.mentions.models import Mention
from tests.conftest import realdata

JSON = {"Content-Type": "application/json; charset=utf-8"}


def test_a_board_paged_by_last_item_sends_the_last_id_and_position_not_a_page_number(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    with realdata("datasets/fuzhou_12345_liuyan_weibo_timeofmei/people_liuyan_fuzhou_env_120.csv").open(
            encoding="utf-8") as f:
        rows = [{"tid": int(r["id"]), **{k: v for k, v in r.items() if k != "id"}} for r in csv.DictReader(f)]
    rows.sort(key=lambda r: -int(r["tid"]))
    # The server ignores the paging fields, as a misconfigured board would: the second answer
    # repeats the first, so the crawl stops after it (nothing new).
    feed_server.serve("/v1/threads/list/df", json.dumps(
        {"resultCode": "200", "resultMsg": "success", "resultData": {"data": rows[:10]}}, ensure_ascii=False).encode(),
        headers=JSON)
    form = {"fid": "539", "showUnAnswer": "1", "typeId": "5", "lastItem": "", "position": "0", "rows": "10",
            "orderType": "2"}
    add_source(db, "领导留言板", feed_server.url("/v1/threads/list/df"), kind="board",
               params={"method": "POST", "form": form, "list_path": "resultData.data", "max_pages": 3})

    report = crawl()["sources"]["领导留言板"]

    sent = [parse_qs(body.decode(), keep_blank_values=True) for path, body in feed_server.bodies
            if path.startswith("/v1/threads/list/df")]
    assert [(b["lastItem"], b["position"]) for b in sent] == [([""], ["0"]), ([str(rows[9]["tid"])], ["10"])]
    assert all("page" not in b for b in sent)
    assert report["new"] == 10
    with Session(db) as session:
        assert len(session.exec(select(Mention)).all()) == 10
