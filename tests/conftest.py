"""Shared fixtures: every database test runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core import migrate
from core.config import Settings, get_settings
from core.db import get_engine, reset_engine

REPO = Path(__file__).resolve().parent.parent
# ../shared beside the repository (a git worktree or a CI checkout alike): design notes and the
# real captures under realdata/, read in place (some are licensed for reading only).
SHARED = Path(os.environ.get("YUQING_TEST_SHARED_DIR") or REPO.parent / "shared")
REALDATA = SHARED / "realdata"
PG_URL = os.environ.get("YUQING_TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/yuqing_test")
REDIS_URL = os.environ.get("YUQING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def env_flag(name: str) -> bool:
    """An environment switch as CI services set it: 'true', '1', 'yes' or 'on' (any case) is on;
    'false', '0', 'no', 'off' or empty is off; anything else is a mistake worth stopping for."""
    value = os.environ.get(name, "").strip().lower()
    if value in {"true", "1", "yes", "on"}:
        return True
    if value in {"", "false", "0", "no", "off"}:
        return False
    raise pytest.UsageError(f"{name}={os.environ[name]!r}: expected true/false, 1/0 or yes/no")


IN_CI = env_flag("CI")


def unavailable(what: str, error: Exception | str) -> NoReturn:
    """In CI a missing server, tool or data folder is a failure; on a laptop it is a skip that says why."""
    message = f"{what} not available ({error})"
    if IN_CI:
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


def shared(relative: str) -> Path:
    """A file or folder of ../shared (beside the repository), or unavailable() where it is absent."""
    path = SHARED / relative
    if not path.exists():
        unavailable(f"../shared/{relative}", f"looked for {path}; check out the shared folder beside the repo")
    return path


def realdata(relative: str) -> Path:
    """A file of ../shared/realdata (the real captures), or unavailable() where it is absent."""
    return shared(f"realdata/{relative}")


def tool(name: str) -> str:
    """The path of an executable the test needs (node, redis-server...), or unavailable()."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"the `{name}` executable", "not on PATH")
    return found


def node_modules(package: str) -> Path:
    """dashboards/node_modules/<package> as `make install` (npm ci) leaves it, or unavailable()."""
    path = REPO / "dashboards" / "node_modules" / package
    if not path.exists():
        unavailable(f"dashboards/node_modules/{package}", "run `make install` (npm ci in dashboards/)")
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
        unavailable("PostgreSQL", f"{exc}; start it or set YUQING_TEST_DATABASE_URL")
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
    if database_url.startswith("sqlite:///"):
        _copy_migrated_sqlite(Path(database_url.removeprefix("sqlite:///")))
    migrate.upgrade(database_url)  # at head already after the copy: only checks the version
    yield get_settings()
    reset_engine()
    get_settings.cache_clear()
    _configure_worker()


_SQLITE_TEMPLATE: list[Path] = []


def _copy_migrated_sqlite(target: Path) -> None:
    """A copy of a database migrated once per test process: migrating SQLite re-creates tables
    (batch ALTER) and took 1–3 s a test. The migrations themselves are still run from base to head
    and back (tests/core/test_migrations.py and the per-migration tests)."""
    if target.exists():
        return
    if not _SQLITE_TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="yuqing-migrated-")) / "yuqing.sqlite"
        migrate.upgrade(f"sqlite:///{path}")
        reset_engine()
        with sqlite3.connect(path) as con:  # everything in the main file, nothing left in a -wal
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        _SQLITE_TEMPLATE.append(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_SQLITE_TEMPLATE[0], target)
    target.chmod(0o600)


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
            unavailable("Redis", f"{exc}; start it or set YUQING_TEST_REDIS_URL")
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
