"""A private Redis server per test, and the whole process switched from embedded mode to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings, get_settings
from tests.realstack import RedisServer, redis_server


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
def redis_stack(app_env: Settings, broker: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Tasks go to the private Redis (this process and the workers it starts)."""
    from worker.app import app, configure

    monkeypatch.setenv("YUQING_REDIS_URL", broker.url)
    get_settings.cache_clear()
    configure(app)
    yield get_settings()
    monkeypatch.delenv("YUQING_REDIS_URL")
    get_settings.cache_clear()
    configure(app)
