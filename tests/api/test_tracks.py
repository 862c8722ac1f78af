"""专题 through the API: define after the fact, the page data, edits, the 专报 in Word, who may do what."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from docx import Document
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.events.models import Event
from core.mentions.models import Mention
from core.timeutil import to_local, utcnow
from tests.api.test_api_tickets import open_ticket, people  # noqa: F401  (fixture)
from tests.core.test_topics import ref_search


def test_a_topic_defined_after_the_fact_shows_its_matters_and_prints_the_same_figures(
        client: TestClient, session: Session, people: dict[str, Any],  # noqa: F811
        make_event: Callable[..., Event]) -> None:
    h = people["h"]
    now = utcnow()
    moved = make_event("南站片区動遷补偿标准迟迟不公布", topic="relocation", grade="III", sentiment="negative")
    second = make_event("南站动迁安置房交房延期", topic="relocation", grade="IV", sentiment="neutral",
                        seen_at=now - timedelta(days=2))
    make_event("南站动迁公司招聘保安", topic="other", grade=None, sentiment="neutral")  # excluded word
    make_event("站前小区乱停车", topic="parking")  # unrelated
    make_event("南站动迁去年的旧帖", topic="relocation", seen_at=now - timedelta(days=40))  # before the range
    ticket = open_ticket(client, h["duty"], moved, people["unit_a"])
    assert client.post(f"/api/tickets/{ticket['id']}/responses", headers=h["handler_a"], json={
        "channel": "weibo", "title": "关于南站片区动迁补偿的说明"}).status_code == 201
    today = to_local(now).date()
    rule = {"name": "南站片区动迁", "all_words": ["南站"], "any_words": ["动迁", "补偿"], "none_words": ["招聘"],
            "starts_on": str(today - timedelta(days=7))}

    assert client.post("/api/tracks", headers=h["handler_a"], json=rule).status_code == 403
    res = client.post("/api/tracks", headers=h["duty"], json=rule)
    assert res.status_code == 201, res.text
    track = res.json()
    want = ref_search(list(session.exec(select(Mention)).all()),
                      {**rule, "starts_on": today - timedelta(days=7)})
    assert track["mention_count"] == len(want) == 2
    assert client.post("/api/tracks", headers=h["leader"], json=rule).status_code == 409  # same name

    page = client.get(f"/api/tracks/{track['id']}/overview", headers=h["leader"]).json()
    figures = {f["key"]: f["value"] for f in page["figures"]}
    assert figures == {"mentions": 2, "negative": 1, "events": 2, "serious_events": 1, "tickets": 1,
                       "open_tickets": 1, "responses": 1}
    assert {e["id"] for e in page["events"]} == {moved.id, second.id}
    assert {e["grade"] for e in page["events"]} == {"III", "IV"}
    assert [t["id"] for t in page["tickets"]] == [ticket["id"]] and page["tickets"][0]["state_label"]
    assert sum(p["mentions"] for p in page["trend"]) == 2 and len(page["trend"]) == 8
    assert sum(p["negative"] for p in page["trend"]) == 1
    assert page["channels"] == [{"key": "weibo", "label": "微博", "count": 2}]

    # A handler of the unit sees the ticketed matter only; another unit's handler sees nothing.
    mine = client.get(f"/api/tracks/{track['id']}/overview", headers=h["handler_a"]).json()
    assert [e["id"] for e in mine["events"]] == [moved.id] and mine["track"]["mention_count"] == 1
    theirs = client.get(f"/api/tracks/{track['id']}/overview", headers=h["handler_b"]).json()
    assert theirs["events"] == [] and {f["value"] for f in theirs["figures"]} == {0}
    listed = client.get("/api/tracks", headers=h["handler_b"]).json()
    assert [(t["name"], t["mention_count"]) for t in listed] == [("南站片区动迁", 0)]

    res = client.get(f"/api/tracks/{track['id']}/report?format=docx&opinion=建议持续关注补偿标准公布进度",
                     headers=h["duty"])
    assert res.status_code == 200 and res.headers["content-disposition"].startswith("attachment; filename=")
    doc = Document(io.BytesIO(res.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "舆情专报：南站片区动迁" in text and "监测时段：" in text
    assert "南站片区動遷补偿标准迟迟不公布" in text and "关于南站片区动迁补偿的说明" in text
    table = doc.tables[0]
    assert [[c.text for c in row.cells] for row in table.rows[1:]] == [
        [f["label"], str(f["value"])] for f in page["figures"]]
    assert len(doc.inline_shapes) >= 2  # the trend and at least one distribution chart
    assert "建议持续关注补偿标准公布进度" in doc.tables[-1].rows[0].cells[0].text
    assert "研判意见" in text

    # Editing the rules re-tags: excluding 补偿 drops the first matter.
    res = client.patch(f"/api/tracks/{track['id']}", headers=h["leader"],
                       json={"none_words": ["招聘", "补偿"]})
    assert res.status_code == 200 and res.json()["mention_count"] == 1
    assert client.patch(f"/api/tracks/{track['id']}", headers=h["leader"],
                        json={"all_words": [], "any_words": []}).status_code == 422
    assert client.delete(f"/api/tracks/{track['id']}", headers=h["handler_a"]).status_code == 403
    assert client.delete(f"/api/tracks/{track['id']}", headers=h["admin"]).status_code == 204
    assert client.get(f"/api/tracks/{track['id']}", headers=h["admin"]).status_code == 404
