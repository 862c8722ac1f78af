"""The SQLite database holds callers' phones and addresses: only its owner may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlmodel import Session

from core import migrate
from core.config import get_settings
from core.db import get_engine, reset_engine
from core.mentions import service as mentions
from core.mentions.models import MentionCreate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_its_wal_and_its_directory_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    var = tmp_path / "var"
    monkeypatch.setenv("YUQING_VAR_DIR", str(var))
    monkeypatch.delenv("YUQING_DATABASE_URL", raising=False)
    old_umask = os.umask(0o022)  # the common default, under which the file was 0644
    try:
        get_settings.cache_clear()
        reset_engine()
        migrate.upgrade(get_settings().resolved_database_url)
        with Session(get_engine()) as session:
            mentions.ingest(session=session, mention_in=MentionCreate(
                channel="hotline", external_id="c-1", text="来电反映供暖不热", contact="13800000000"))
            session.commit()
            database = var / "yuqing.sqlite"
            wal = var / "yuqing.sqlite-wal"
            assert wal.exists()  # WAL mode, while a connection is open
            assert mode(database) == 0o600 and mode(wal) == 0o600
            assert mode(var / "yuqing.sqlite-shm") == 0o600
        assert mode(var) == 0o700
    finally:
        os.umask(old_umask)
        reset_engine()
        get_settings.cache_clear()


def test_an_existing_readable_database_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    database = var / "yuqing.sqlite"
    database.touch(mode=0o644)
    database.chmod(0o644)
    monkeypatch.setenv("YUQING_VAR_DIR", str(var))
    monkeypatch.delenv("YUQING_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    reset_engine()
    try:
        get_engine()
        assert mode(database) == 0o600 and mode(var) == 0o700
    finally:
        reset_engine()
        get_settings.cache_clear()
