"""Rows made through the services, for tests that need an event without analysis."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.events.models import Event
from core.timeutil import utcnow
from core.units import service as units
from core.units.models import Unit, UnitCreate
from core.users import service as users
from core.users.models import User, UserCreate


def make_event(session: Session, *, grade: str | None = "III", topic: str = "parking",
               title: str = "永安小区门口乱停车", at: datetime | None = None) -> Event:
    at = at or utcnow()
    event = Event(title=title, topic=topic, grade=grade, first_seen_at=at, last_seen_at=at,
                  mention_count=1, relevant=True)
    session.add(event)
    session.flush()
    return event


def make_user(session: Session, username: str, role: str, unit_id: int | None = None) -> User:
    return users.create(session=session, user_in=UserCreate(
        username=username, full_name=username, role=role, unit_id=unit_id, password="password-123"))


def make_unit(session: Session, name: str = "站前街道城管执法中队", topics: str = "parking") -> Unit:
    return units.get_or_create(session=session, unit_in=UnitCreate(name=name, topics=topics))
