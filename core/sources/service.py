"""Monitoring sources and their health."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.errors import Conflict
from core.sources.models import Source, SourceCreate
from core.timeutil import utcnow


def get(*, session: Session, source_id: int) -> Source | None:
    """Return a source by id."""
    return session.get(Source, source_id)


def get_by_name(*, session: Session, name: str) -> Source | None:
    """Return a source by its unique name."""
    return session.exec(select(Source).where(Source.name == name)).first()


def get_all(*, session: Session, enabled_only: bool = False, kind: str | None = None) -> list[Source]:
    """Return sources, optionally only enabled ones or one kind."""
    stmt = select(Source).order_by(col(Source.id))
    if enabled_only:
        stmt = stmt.where(Source.enabled == True)  # noqa: E712
    if kind:
        stmt = stmt.where(Source.kind == kind)
    return list(session.exec(stmt))


def create(*, session: Session, source_in: SourceCreate) -> Source:
    """Create a source with a new name."""
    if get_by_name(session=session, name=source_in.name):
        raise Conflict(f"监测源已存在: {source_in.name}")
    source = Source.model_validate(source_in)
    session.add(source)
    session.flush()
    return source


def get_or_create(*, session: Session, source_in: SourceCreate) -> Source:
    """Return the source with this name, creating it if needed (url and kind refreshed)."""
    source = get_by_name(session=session, name=source_in.name)
    if source is None:
        return create(session=session, source_in=source_in)
    source.url, source.kind, source.channel = source_in.url, source_in.kind, source_in.channel
    session.add(source)
    return source


def record_success(*, session: Session, source: Source, new_items: int) -> None:
    """Mark a fetch that worked; keep the time of the last new item for silence detection."""
    now = utcnow()
    source.last_fetch_at = source.last_success_at = now
    if new_items:
        source.last_item_at = now
    if source.health != "ok":
        source.health_since = now
    source.health = "ok"
    source.last_error = ""
    source.consecutive_failures = 0
    session.add(source)


def record_failure(*, session: Session, source: Source, health: str, error: str) -> None:
    """Mark a failed fetch with what happened (error, login_expired, blocked ...)."""
    source.last_fetch_at = utcnow()
    if source.health != health:
        source.health_since = source.last_fetch_at
    source.health = health
    source.last_error = error[:1000]
    source.consecutive_failures += 1
    session.add(source)
