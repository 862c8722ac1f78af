"""Fixtures for the HTTP tests: a client on a fresh database, people, units and events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.main import create_app
from api.security import create_access_token
from core.alerts.models import Alert
from core.config import Settings
from core.events.models import Event
from core.mentions import service as mentions
from core.mentions.models import MentionCreate
from core.timeutil import utcnow
from core.units.models import Unit
from core.users.models import User
from core.users.service import hash_password

PASSWORD = "correct-horse-battery"
# scrypt is deliberately slow: hash once for every user the tests create.
PASSWORD_HASH = hash_password(PASSWORD)

Headers = dict[str, str]


@pytest.fixture
def client(app_env: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def bearer(user: User) -> Headers:
    assert user.id is not None
    return {"Authorization": f"Bearer {create_access_token(user.id, role=user.role)}"}


@pytest.fixture
def auth(app_env: Settings) -> Callable[[User], Headers]:
    """Bearer headers for a user, without a (slow) password round trip."""
    return bearer


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    def make(username: str, role: str, unit: Unit | None = None) -> User:
        user = User(username=username, full_name=username, role=role,
                    unit_id=unit.id if unit else None, password_hash=PASSWORD_HASH)
        session.add(user)
        session.commit()
        return user

    return make


@pytest.fixture
def make_unit(session: Session) -> Callable[[str], Unit]:
    def make(name: str) -> Unit:
        unit = Unit(name=name, kind="community")
        session.add(unit)
        session.commit()
        return unit

    return make


@pytest.fixture
def make_event(session: Session) -> Callable[..., Event]:
    """An event with one mention, built directly (the analysis pipeline is not needed here)."""
    counter = iter(range(1, 10_000))

    def make(title: str = "站前小区乱停车堵塞消防通道", *, grade: str | None = "IV",
             topic: str = "parking", sentiment: str = "negative",
             seen_at: datetime | None = None, alert: bool = False) -> Event:
        seen = seen_at or utcnow()
        event = Event(title=title, topic=topic, grade=grade, first_seen_at=seen,
                      last_seen_at=seen, mention_count=1, topics=[topic],
                      grade_reason="负面信息集中" if grade else "")
        session.add(event)
        session.flush()
        n = next(counter)
        mention = mentions.ingest(session=session, mention_in=MentionCreate(
            channel="weibo", external_id=f"wb-{event.id}-{n}", title=title, text=title,
            published_at=seen)).mention
        mention.event_id, mention.sentiment, mention.topics = event.id, sentiment, [topic]
        session.add(mention)
        if alert and grade:
            assert event.id is not None
            session.add(Alert(event_id=event.id, level=grade, reason=event.grade_reason,
                              dedupe_key=f"event:{event.id}:{grade}"))
        session.commit()
        return event

    return make
