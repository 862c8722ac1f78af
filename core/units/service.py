"""Responsible units (责任单位)."""

from __future__ import annotations

from sqlmodel import Session, select

from core.units.models import Unit, UnitCreate


def get(*, session: Session, unit_id: int) -> Unit | None:
    """Return a unit by id."""
    return session.get(Unit, unit_id)


def get_all(*, session: Session) -> list[Unit]:
    """Return all units by name."""
    return list(session.exec(select(Unit).order_by(Unit.name)))


def get_or_create(*, session: Session, unit_in: UnitCreate) -> Unit:
    """Return the unit with this name, creating it if needed."""
    unit = session.exec(select(Unit).where(Unit.name == unit_in.name)).first()
    if unit is None:
        unit = Unit.model_validate(unit_in)
        session.add(unit)
        session.flush()
    return unit


def for_topic(*, session: Session, topic: str) -> Unit | None:
    """Return the unit that owns a topic (谁主管谁发声), if one is configured."""
    for unit in get_all(session=session):
        if topic in {t.strip() for t in unit.topics.split(",") if t.strip()}:
            return unit
    return None
