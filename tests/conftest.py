"""Shared fixtures: every database test runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core import migrate
from core.config import Settings, get_settings
from core.db import get_engine, reset_engine

REPO = Path(__file__).resolve().parent.parent
REALDATA = REPO.parent / "shared" / "realdata"
PG_URL = os.environ.get("YUQING_TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/yuqing_test")
REDIS_URL = os.environ.get("YUQING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = bool(os.environ.get("CI"))


def unavailable(what: str, error: Exception) -> None:
    """In CI a missing server is a failure; on a laptop it is a skip that says why."""
    message = f"{what} not reachable ({error}); start it or set the YUQING_TEST_* URL"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def realdata(relative: str) -> Path:
    """A file of ../shared/realdata, or skip (saying why) where that folder is absent."""
    path = REALDATA / relative
    if not path.exists():
        pytest.skip(f"real sample {relative} not present (../shared/realdata is not checked out)")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this pytest process's own, so parallel runs never drop each other's tables."""
    from core.config import normalize_database_url

    base = sa.make_url(normalize_database_url(PG_URL))
    target = base.set(database=f"{base.database}_{os.getpid()}")
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    yield target.render_as_string(hide_password=False)
    reset_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def _fresh_postgres(url: str) -> str:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'yuqing.sqlite'}"
    return _fresh_postgres(request.getfixturevalue("postgres_database"))


@pytest.fixture
def app_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point every component at a fresh, migrated database; embedded queue."""
    monkeypatch.setenv("YUQING_DATABASE_URL", database_url)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("YUQING_SECRET_KEY", "test-secret-key-of-sufficient-length-0123456789")
    monkeypatch.delenv("YUQING_REDIS_URL", raising=False)
    get_settings.cache_clear()
    reset_engine()
    _configure_worker()
    migrate.upgrade(database_url)
    yield get_settings()
    reset_engine()
    get_settings.cache_clear()
    _configure_worker()


def _configure_worker() -> None:
    from worker.app import app, configure

    configure(app)


@pytest.fixture
def session(app_env: Settings) -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def redis_database() -> Iterator[str]:
    """A Redis database of this pytest process's own (1-15, claimed with a lock key).

    Celery workers started by one test run must never take the tasks of another run on the
    same machine, and flushing between tests must not wipe another run's queue.
    """
    import redis

    head, _, tail = REDIS_URL.rstrip("/").rpartition("/")
    base, preferred = (head, int(tail)) if tail.isdigit() else (REDIS_URL.rstrip("/"), 15)
    order = [preferred] + [n for n in range(15, 0, -1) if n != preferred]
    lock = f"yuqing-test-owner-{os.getpid()}"
    for number in order:
        client = redis.Redis.from_url(f"{base}/{number}")
        try:
            taken = client.set("yuqing-test-lock", lock, nx=True, ex=3600)
        except redis.exceptions.ConnectionError as exc:
            unavailable("Redis", exc)
        if taken:
            yield f"{base}/{number}"
            if client.get("yuqing-test-lock") == lock.encode():
                client.flushdb()
            client.close()
            return
        client.close()
    pytest.fail("no free Redis database (1-15) for this test run")


@pytest.fixture
def redis_url(redis_database: str) -> str:
    """This run's Redis database, emptied (but still claimed) before each test."""
    import redis

    client = redis.Redis.from_url(redis_database)
    lock = client.get("yuqing-test-lock")
    client.flushdb()
    if lock:
        client.set("yuqing-test-lock", lock, ex=3600)
    client.close()
    return redis_database
