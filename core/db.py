"""Engine and sessions. The database is the source of truth."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, create_engine

import core.models  # noqa: F401  (every table mapped before the first session)
from core.config import get_settings


def make_engine(url: str, *, foreign_keys: bool = True) -> sa.Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so crawler, worker and api can share it.

    Migrations pass foreign_keys=False: SQLite alters a table by copying and dropping it, which
    enforced foreign keys of other tables would refuse.
    """
    # hide_parameters: a failed statement's error (and so its log line) must not carry the values
    # it bound, which can be a robot key, an SMTP password, a caller's phone or a password hash.
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


@lru_cache
def get_engine() -> sa.Engine:
    return make_engine(get_settings().resolved_database_url)


def reset_engine() -> None:
    """Forget the cached engine (after settings change, e.g. in tests)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
