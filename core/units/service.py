"""Responsible units (责任单位)."""

from __future__ import annotations

from sqlmodel import Session, select

from core.errors import Conflict
from core.units.models import Unit, UnitCreate, UnitUpdate


def get(*, session: Session, unit_id: int) -> Unit | None:
    """Return a unit by id."""
    return session.get(Unit, unit_id)


def get_all(*, session: Session) -> list[Unit]:
    """Return all units by name."""
    return list(session.exec(select(Unit).order_by(Unit.name)))


def get_by_name(*, session: Session, name: str) -> Unit | None:
    """Return a unit by its unique name."""
    return session.exec(select(Unit).where(Unit.name == name)).first()


def create(*, session: Session, unit_in: UnitCreate) -> Unit:
    """Create a unit with a new name."""
    if get_by_name(session=session, name=unit_in.name):
        raise Conflict(f"责任单位已存在: {unit_in.name}")
    unit = Unit.model_validate(unit_in)
    session.add(unit)
    session.flush()
    return unit


def update(*, session: Session, unit: Unit, unit_in: UnitUpdate, actor_id: int | None) -> Unit:
    """Rename a unit or change its kind, topics (谁主管谁发声) or contact; audited."""
    from core.audit import service as audit

    values = unit_in.model_dump(exclude_unset=True)
    if values.get("name") and values["name"] != unit.name and get_by_name(session=session, name=values["name"]):
        raise Conflict(f"责任单位已存在: {values['name']}")
    before, after = audit.diff(unit, values)
    for key, value in values.items():
        if value is not None:
            setattr(unit, key, value)
    session.add(unit)
    session.flush()
    assert unit.id is not None
    if after:
        audit.record(session=session, entity="unit", entity_id=unit.id, action="update",
                     actor_id=actor_id, before=before, after=after)
    return unit


def get_or_create(*, session: Session, unit_in: UnitCreate) -> Unit:
    """Return the unit with this name, creating it if needed."""
    return get_by_name(session=session, name=unit_in.name) or create(session=session, unit_in=unit_in)


def for_topic(*, session: Session, topic: str) -> Unit | None:
    """Return the unit that owns a topic (谁主管谁发声), if one is configured."""
    for unit in get_all(session=session):
        if topic in {t.strip() for t in unit.topics.split(",") if t.strip()}:
            return unit
    return None
