from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.config import Settings


@pytest.fixture
def client(app_env: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c
