"""Fixtures for the security tests: an app client, people in two units, events with tickets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.main import create_app
from api.security import create_access_token
from core.config import Settings
from core.units.models import Unit
from core.users.models import User
from core.users.service import hash_password

PASSWORD = "correct-horse-battery"
PASSWORD_HASH = hash_password(PASSWORD)  # scrypt is slow: once for every user made here

Headers = dict[str, str]


def bearer(user: User) -> Headers:
    assert user.id is not None
    token = create_access_token(user.id, role=user.role, token_version=user.token_version)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app_env: Settings) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    def make(username: str, role: str, unit: Unit | None = None) -> User:
        user = User(username=username, full_name=username, role=role,
                    unit_id=unit.id if unit else None, password_hash=PASSWORD_HASH)
        session.add(user)
        session.commit()
        return user

    return make


@dataclass
class Office:
    unit_a: Unit
    unit_b: Unit
    users: dict[str, User]
    headers: dict[str, Headers] = field(default_factory=dict)

    def id(self, name: str) -> int:
        user_id = self.users[name].id
        assert user_id is not None
        return user_id


@pytest.fixture
def office(session: Session, make_user: Callable[..., User]) -> Office:
    unit_a, unit_b = Unit(name="站前社区", kind="community"), Unit(name="城建办", kind="department")
    session.add_all([unit_a, unit_b])
    session.commit()
    users = {
        "admin": make_user("admin", "admin"),
        "leader": make_user("leader", "leader"),
        "duty": make_user("duty", "duty"),
        "handler": make_user("handler_a", "handler", unit_a),
        "handler_b": make_user("handler_b", "handler", unit_b),
    }
    return Office(unit_a, unit_b, users, {name: bearer(u) for name, u in users.items()})


def all_text(value: Any) -> str:
    """Everything a JSON answer says, as one string to search for leaks."""
    import json

    return json.dumps(value, ensure_ascii=False)
