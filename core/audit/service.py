"""Write and read the audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from core.audit.models import AuditLog
from core.redact import redact_mapping, redact_text
from core.timeutil import utcnow


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """Dates as ISO strings so the row stores as JSON on every backend."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[key] = value.isoformat() if isinstance(value, datetime | date) else value
    return out


def record(*, session: Session, entity: str, entity_id: int, action: str, actor_id: int | None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           note: str = "", at: datetime | None = None) -> AuditLog:
    """Add one audit row; secrets in it (keys, passwords, URLs with tokens) are masked first."""
    row = AuditLog(entity=entity, entity_id=entity_id, action=action, actor_id=actor_id,
                   before=redact_mapping(jsonable(before or {})), after=redact_mapping(jsonable(after or {})),
                   note=redact_text(note)[:2000], at=at or utcnow())
    session.add(row)
    return row


def diff(old: Any, new_values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the fields that new_values changes on old."""
    before, after = {}, {}
    for key, value in new_values.items():
        current = getattr(old, key)
        if current != value:
            before[key], after[key] = current, value
    return jsonable(before), jsonable(after)


def get_all(*, session: Session, entity: str | None = None, entity_id: int | None = None,
            limit: int = 200) -> list[AuditLog]:
    """Audit rows, oldest first."""
    stmt = select(AuditLog).order_by(col(AuditLog.id))
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    return list(session.exec(stmt.limit(limit)))
