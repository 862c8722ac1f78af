"""Creating things safely: retries with an Idempotency-Key store once, a stored row never answers
500, NUL characters never reach the database, and only http(s) links are kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, func, select

from core.events.models import Event
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from core.tickets.models import Response
from core.units.models import Unit
from core.users.models import User

Auth = Callable[[User], dict[str, str]]


def count(session: Session, model: type[Mention] | type[Response]) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def duty(make_user: Callable[..., User], auth: Auth) -> dict[str, str]:
    return auth(make_user("create-duty", "duty"))


def test_a_retry_with_the_same_idempotency_key_stores_one_mention(
        client: TestClient, session: Session, duty: dict[str, str]) -> None:
    body = {"channel": "manual", "title": "网友反映站前街积雪未清", "text": "南阳路人行道结冰"}
    first = client.post("/api/mentions", json=body, headers={**duty, "Idempotency-Key": "k-1"})
    again = client.post("/api/mentions", json=body, headers={**duty, "Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = client.post("/api/mentions", json=body, headers={**duty, "Idempotency-Key": "k-2"})
    assert other.status_code == 201  # another key is another entry
    assert count(session, Mention) == 2

    call = {"title": "来电：楼道电动车充电", "text": "三楼楼道有人拉线充电"}
    a = client.post("/api/intake/calls", json=call, headers={**duty, "Idempotency-Key": "call-7"})
    b = client.post("/api/intake/calls", json={**call, "received_at": "2026-03-01T08:00:00"},
                    headers={**duty, "Idempotency-Key": "call-7"})
    assert (a.status_code, b.status_code) == (201, 200) and a.json()["id"] == b.json()["id"]


def test_a_retried_response_with_the_same_key_is_recorded_once(
        client: TestClient, session: Session, duty: dict[str, str], make_event: Callable[..., Event],
        make_unit: Callable[[str], Unit]) -> None:
    unit = make_unit("站前社区")
    ticket = client.post("/api/tickets", json={"event_id": make_event().id, "unit_id": unit.id}, headers=duty)
    assert ticket.status_code == 201, ticket.text
    tid = ticket.json()["id"]
    answer = {"channel": "weibo", "title": "关于站前小区停车问题的回应", "url": "https://weibo.com/1/abc"}
    headers = {**duty, "Idempotency-Key": "resp-1"}
    first = client.post(f"/api/tickets/{tid}/responses", json=answer, headers=headers)
    again = client.post(f"/api/tickets/{tid}/responses", json=answer, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["id"] == again.json()["id"]
    assert count(session, Response) == 1
    assert client.post(f"/api/tickets/{tid}/responses", json=answer, headers=duty).status_code == 201
    assert count(session, Response) == 2


def test_a_stored_mention_is_not_a_500_when_reading_it_back_fails(
        client: TestClient, session: Session, duty: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: the read after the commit fails (a locked SQLite file, a dropped connection).
    def refresh(self: Session, *args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT ...", {}, Exception("database is locked"))

    monkeypatch.setattr(Session, "refresh", refresh)
    res = client.post("/api/mentions", json={"text": "市民反映供暖不热", "external_id": "hot-1"}, headers=duty)
    assert res.status_code == 201, res.text
    assert res.json()["external_id"] == "hot-1"
    res = client.post("/api/intake/calls", json={"text": "来电反映路灯不亮", "call_id": "c-1"}, headers=duty)
    assert res.status_code == 201, res.text
    monkeypatch.undo()
    assert count(session, Mention) == 2


def test_nul_characters_never_reach_the_database(
        client: TestClient, session: Session, duty: dict[str, str]) -> None:
    res = client.post("/api/mentions", json={"title": "站前\u0000街", "text": "积\u0000雪", "author": "a\u0000"},
                      headers=duty)
    assert res.status_code == 201, res.text
    assert (res.json()["title"], res.json()["text"]) == ("站前街", "积雪")
    assert client.get("/api/events?topic=%00snow", headers=duty).status_code == 200
    stored = mentions.ingest(session=session, mention_in=MentionCreate(
        channel="forum", external_id="t\x00-1", title="标\x00题", text="正\x00文", raw="{\x00}")).mention
    session.commit()
    assert "\x00" not in stored.title + stored.text + stored.raw + stored.external_id


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "JaVa\tScRiPt:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
                                 "file:///etc/passwd"])
def test_only_web_links_are_kept(client: TestClient, session: Session, duty: dict[str, str],
                                 make_event: Callable[..., Event], make_unit: Callable[[str], Unit],
                                 url: str) -> None:
    # From a person: refused, with the reason.
    res = client.post("/api/mentions", json={"text": "x", "url": url}, headers=duty)
    assert res.status_code == 422, res.text
    unit = make_unit("站前社区")
    ticket = client.post("/api/tickets", json={"event_id": make_event().id, "unit_id": unit.id}, headers=duty)
    assert ticket.status_code == 201, ticket.text
    res = client.post(f"/api/tickets/{ticket.json()['id']}/responses", headers=duty,
                      json={"channel": "weibo", "title": "关于停车问题的回应", "url": url})
    assert res.status_code == 422, res.text
    assert count(session, Response) == 0
    # From a crawler or an import: stored without the link.
    stored = mentions.ingest(session=session, mention_in=MentionCreate(
        channel="news", external_id=f"feed-{url[:5]}", title="标题", text="正文", url=url)).mention
    session.commit()
    assert stored.url == ""
    ok = mentions.ingest(session=session, mention_in=MentionCreate(
        channel="news", external_id="feed-ok", title="标题", text="正文", url="https://news.example.org/a")).mention
    assert ok.url == "https://news.example.org/a"
    assert session.exec(select(func.count()).select_from(Mention).where(
        col(Mention.url).like("%script%"))).one() == 0


def test_sources_take_web_addresses_only(client: TestClient, make_user: Callable[..., User], auth: Auth) -> None:
    admin = auth(make_user("create-admin", "admin"))
    res = client.post("/api/sources", json={"name": "坏源", "url": "javascript:alert(1)"}, headers=admin)
    assert res.status_code == 422, res.text
    good = client.post("/api/sources", json={"name": "好源", "url": "https://zqjd.example.org/rss"}, headers=admin)
    assert good.status_code == 201, good.text
    res = client.patch(f"/api/sources/{good.json()['id']}", json={"url": "data:text/html,x"}, headers=admin)
    assert res.status_code == 422, res.text
    opml = ('<opml><body><outline title="坏" xmlUrl="javascript:alert(1)"/>'
            '<outline title="公众号" xmlUrl="https://rss.example.org/wx/1"/></body></opml>').encode()
    res = client.post("/api/sources/import-opml", files={"file": ("feeds.opml", opml)}, headers=admin)
    assert res.status_code == 200, res.text
    assert res.json()["created"] == ["公众号"] and res.json()["rejected"][0].startswith("坏：")


def test_a_lone_surrogate_is_stored_as_a_replacement_character(session: Session) -> None:
    """Half an emoji (a truncated "\\ud83d\\ude00" in a JSON API answer) decodes to a lone surrogate,
    which no database encoding accepts: it was refused at every crawl; now it is stored as U+FFFD."""
    stored = mentions.ingest(session=session, mention_in=MentionCreate(
        channel="weibo", external_id="w-\ud83d", title="暖气不热\ud83d", text="\ude00又停了", author="居民\ud83d",
        raw='{"text": "\ud83d"}')).mention
    session.commit()
    session.refresh(stored)
    assert (stored.title, stored.text, stored.author) == ("暖气不热\ufffd", "\ufffd又停了", "居民\ufffd")
    assert "\ud83d" not in stored.raw + stored.external_id
    emoji = mentions.ingest(session=session, mention_in=MentionCreate(
        channel="weibo", external_id="w-2", title="正常的表情😀", text="正文")).mention  # a whole pair stays
    session.commit()
    assert emoji.title == "正常的表情😀"
