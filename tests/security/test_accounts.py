"""Accounts: a closed set of roles, login throttling, no timing oracle, tokens that die, user admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.access import scope_for
from core.audit.models import AuditLog
from core.config import Settings, get_settings
from core.errors import Forbidden
from core.timeutil import utcnow
from core.users import service as users
from core.users.models import User
from tests.security.conftest import PASSWORD, Office


def login(client: TestClient, username: str, password: str) -> tuple[int, dict[str, str], dict]:
    res = client.post("/api/auth/token", data={"username": username, "password": password})
    return res.status_code, dict(res.headers), res.json()


def test_an_unknown_role_is_refused_at_the_edge(client: TestClient, office: Office) -> None:
    admin = office.headers["admin"]
    for role in ("Handler", "superuser", "", "ADMIN"):
        res = client.post("/api/users", headers=admin, json={
            "username": f"x{role}", "full_name": "某人", "role": role, "unit_id": office.unit_a.id,
            "password": "long-enough-1"})
        assert res.status_code == 422, (role, res.text)
    res = client.patch(f"/api/users/{office.id('duty')}", headers=admin, json={"role": "root"})
    assert res.status_code == 422
    ok = client.post("/api/users", headers=admin, json={
        "username": "handler_c", "full_name": "新承办人", "role": "handler", "unit_id": office.unit_a.id,
        "password": "long-enough-1"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["role"] == "handler" and "password_hash" not in ok.json()
    no_unit = client.post("/api/users", headers=admin, json={
        "username": "handler_d", "role": "handler", "password": "long-enough-1"})
    assert no_unit.status_code == 422


def test_the_database_refuses_an_unknown_role_and_access_denies_it(session: Session, office: Office) -> None:
    session.add(User(username="sneaky", role="Handler", password_hash="x"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    for role in ("Handler", "root", ""):
        with pytest.raises(Forbidden):
            scope_for(User(username="u", role=role, unit_id=office.unit_a.id, password_hash="x"))


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    real = users._scrypt

    def counting(password: str, *args: object) -> bytes:
        calls.append(password)
        return real(password, *args)  # type: ignore[arg-type]

    users._dummy_hash()  # made once per process, before counting starts
    monkeypatch.setattr(users, "_scrypt", counting)
    yield calls


def test_every_login_does_the_same_hashing_work(client: TestClient, office: Office, session: Session,
                                                hash_calls: list[str]) -> None:
    inactive = office.users["handler_b"]
    inactive.is_active = False
    session.add(inactive)
    session.commit()
    outcomes = []
    for username, password in (("no-such-user", "whatever-1"), ("duty", "wrong-password"),
                               ("handler_b", PASSWORD), ("duty", PASSWORD)):
        before = len(hash_calls)
        status, _, _ = login(client, username, password)
        outcomes.append((status, len(hash_calls) - before))
    assert outcomes == [(401, 1), (401, 1), (401, 1), (200, 1)]


def test_ten_wrong_passwords_lock_the_account_with_retry_after(client: TestClient, office: Office) -> None:
    for _ in range(10):
        assert login(client, "duty", "wrong-password")[0] == 401
    status, headers, body = login(client, "duty", PASSWORD)  # even the right one now
    assert status == 429
    assert int(headers["retry-after"]) > 0
    assert "分钟后再试" in body["detail"]
    # Another account from the same address is not locked by these ten.
    assert login(client, "leader", PASSWORD)[0] == 200
    audit = client.get(f"/api/audit?entity=user&entity_id={office.id('duty')}", headers=office.headers["admin"])
    assert [r["action"] for r in audit.json()] == ["locked"]


def test_a_successful_login_resets_the_account_count(client: TestClient, office: Office) -> None:
    for _ in range(9):
        assert login(client, "duty", "wrong-password")[0] == 401
    assert login(client, "duty", PASSWORD)[0] == 200
    for _ in range(9):
        assert login(client, "duty", "wrong-password")[0] == 401
    assert login(client, "duty", PASSWORD)[0] == 200


def test_unknown_names_are_throttled_like_real_ones(client: TestClient, office: Office) -> None:
    for _ in range(10):
        assert login(client, "ghost", "wrong-password")[0] == 401
    assert login(client, "ghost", "wrong-password")[0] == 429


def test_an_address_spraying_many_accounts_is_throttled(client: TestClient, office: Office, app_env: Settings,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_LOGIN_MAX_FAILURES_PER_ADDRESS", "5")
    get_settings.cache_clear()
    for n in range(5):
        assert login(client, f"user{n}", "wrong-password")[0] == 401
    status, headers, _ = login(client, "leader", PASSWORD)
    assert status == 429 and int(headers["retry-after"]) > 0


def test_a_lock_ends_after_the_lockout(session: Session, office: Office) -> None:
    now = utcnow()
    for _ in range(10):
        users.record_failure(session=session, username="duty", address="10.0.0.9", now=now)
    session.commit()
    lockout = get_settings().login_lockout_seconds
    wait = users.retry_after(session=session, username="duty", address=None, now=now)
    assert wait == lockout
    later = now + timedelta(seconds=lockout + 1)
    assert users.retry_after(session=session, username="duty", address="10.0.0.9", now=later) is None


def me(client: TestClient, headers: dict[str, str]) -> int:
    return client.get("/api/users/me", headers=headers).status_code


def test_tokens_die_with_a_password_change(client: TestClient, office: Office) -> None:
    old = office.headers["duty"]
    assert me(client, old) == 200
    wrong = client.post("/api/users/me/password", headers=old,
                        json={"old_password": "not-it-at-all", "new_password": "a-new-password-1"})
    assert wrong.status_code == 422 and me(client, old) == 200
    res = client.post("/api/users/me/password", headers=old,
                      json={"old_password": PASSWORD, "new_password": "a-new-password-1"})
    assert res.status_code == 200, res.text
    assert me(client, old) == 401
    assert me(client, {"Authorization": f"Bearer {res.json()['access_token']}"}) == 200
    assert login(client, "duty", PASSWORD)[0] == 401
    assert login(client, "duty", "a-new-password-1")[0] == 200


def test_guessing_the_old_password_is_throttled_too(client: TestClient, office: Office) -> None:
    h = office.headers["duty"]
    for _ in range(10):
        res = client.post("/api/users/me/password", headers=h,
                          json={"old_password": "a-wrong-guess", "new_password": "a-new-password-1"})
        assert res.status_code == 422
    res = client.post("/api/users/me/password", headers=h,
                      json={"old_password": PASSWORD, "new_password": "a-new-password-1"})
    assert res.status_code == 429 and int(res.headers["retry-after"]) > 0


@pytest.mark.parametrize("change", [
    {"role": "leader"}, {"is_active": False}, {"unit_id": "other"}, "reset"])
def test_tokens_die_with_a_role_change_a_deactivation_or_a_reset(
        client: TestClient, office: Office, change: object) -> None:
    old = office.headers["handler"]
    _, _, body = login(client, "handler_a", PASSWORD)
    fresh = {"Authorization": f"Bearer {body['access_token']}"}
    assert me(client, old) == 200 and me(client, fresh) == 200
    user_id, admin = office.id("handler"), office.headers["admin"]
    if change == "reset":
        res = client.post(f"/api/users/{user_id}/reset-password", headers=admin, json={"password": "reset-pass-1"})
    else:
        assert isinstance(change, dict)
        body = {k: (office.unit_b.id if v == "other" else v) for k, v in change.items()}
        res = client.patch(f"/api/users/{user_id}", headers=admin, json=body)
    assert res.status_code == 200, res.text
    assert me(client, old) == 401 and me(client, fresh) == 401


def test_a_name_change_keeps_tokens(client: TestClient, office: Office) -> None:
    res = client.patch(f"/api/users/{office.id('duty')}", headers=office.headers["admin"],
                       json={"full_name": "王值班"})
    assert res.status_code == 200 and res.json()["full_name"] == "王值班"
    assert me(client, office.headers["duty"]) == 200


def test_user_management_is_admin_only_and_audited(client: TestClient, office: Office, session: Session) -> None:
    admin = office.headers["admin"]
    for name in ("leader", "duty", "handler"):
        h = office.headers[name]
        assert client.post("/api/users", headers=h, json={"username": "x", "role": "duty",
                                                          "password": "long-enough-1"}).status_code == 403
        assert client.patch(f"/api/users/{office.id('duty')}", headers=h, json={"is_active": False}).status_code == 403
        assert client.post(f"/api/users/{office.id('duty')}/reset-password", headers=h,
                           json={"password": "long-enough-1"}).status_code == 403
    listed = client.get("/api/users", headers=office.headers["duty"])
    assert listed.status_code == 200
    assert set(listed.json()[0]) == {"id", "username", "full_name", "role", "unit_id", "is_active"}
    assert client.get("/api/users", headers=office.headers["handler"]).status_code == 403

    created = client.post("/api/users", headers=admin, json={
        "username": "leader2", "full_name": "钱分管", "role": "leader", "password": "long-enough-1"}).json()
    client.patch(f"/api/users/{created['id']}", headers=admin, json={"role": "duty"})
    client.post(f"/api/users/{created['id']}/reset-password", headers=admin, json={"password": "long-enough-2"})
    rows = list(session.exec(select(AuditLog).where(AuditLog.entity == "user",
                                                    AuditLog.entity_id == created["id"])))
    assert [(r.action, r.actor_id) for r in rows] == [
        ("create", office.id("admin")), ("update", office.id("admin")), ("reset_password", office.id("admin"))]
    assert rows[1].before == {"role": "leader"} and rows[1].after == {"role": "duty"}
    text = " ".join(str((r.before, r.after, r.note)) for r in rows)
    assert "scrypt$" not in text and "long-enough" not in text
    assert client.get(f"/api/audit?entity=user&entity_id={created['id']}", headers=admin).status_code == 200


def test_the_last_admin_cannot_be_demoted_or_deactivated(client: TestClient, office: Office) -> None:
    admin = office.headers["admin"]
    for body in ({"role": "duty"}, {"is_active": False}):
        assert client.patch(f"/api/users/{office.id('admin')}", headers=admin, json=body).status_code == 409
    assert client.patch("/api/users/999999", headers=admin, json={"full_name": "x"}).status_code == 404
    # Ids the database cannot hold are refused at the edge, not by a server error.
    assert client.patch(f"/api/users/{2**63}", headers=admin, json={"full_name": "x"}).status_code == 422
    assert client.patch(f"/api/users/{office.id('duty')}", headers=admin,
                        json={"unit_id": 2**40}).status_code == 422


def test_the_migration_turns_unknown_roles_off(app_env: Settings, database_url: str) -> None:
    from core import migrate
    from core.db import get_engine

    migrate.downgrade(database_url, "0006")
    with get_engine().begin() as conn:
        for name, role in (("a", "Handler"), ("b", "superuser"), ("c", "duty")):
            conn.execute(sa.text("INSERT INTO app_user (username, full_name, role, is_active, password_hash, "
                                 "created_at) VALUES (:n, '', :r, true, 'x', CURRENT_TIMESTAMP)"),
                         {"n": name, "r": role})
    migrate.upgrade(database_url)
    with get_engine().connect() as conn:
        rows: dict[str, str] = dict(conn.execute(sa.text("SELECT username, role || ':' || "
                                         "CASE WHEN is_active THEN 'on' ELSE 'off' END FROM app_user")).all())
    assert rows == {"a": "handler:on", "b": "handler:off", "c": "duty:on"}
