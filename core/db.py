"""Engine and sessions. The database is the source of truth."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
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
        private_sqlite_file(url)
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


def private_sqlite_file(url: str) -> None:
    """Make the database file (and its -wal/-shm, which SQLite creates with the file's mode) 0600.

    The file holds callers' phone numbers and addresses. The directory yuqing keeps it in
    (settings.var_dir) is made 0700; a directory given elsewhere is left as its owner set it.
    """
    database = sa.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).resolve()
    var_dir = get_settings().var_dir.resolve()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if path.parent == var_dir:
        path.parent.chmod(0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)


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
