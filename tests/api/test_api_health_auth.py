from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import security
from api.routers import health
from core.config import Settings
from core.timeutil import utcnow
from core.users.models import User

Auth = Callable[[User], dict[str, str]]


def test_it_reports_health_without_a_token(client: TestClient) -> None:
    res = client.get("/api/health")
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["queue"] == "embedded"
    assert body["version"]


def test_health_is_503_when_the_database_is_down(client: TestClient, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite'}")
    monkeypatch.setattr(health, "get_engine", lambda: broken)
    res = client.get("/api/health")
    assert res.status_code == 503
    assert res.json()["database"] == "error"


def test_it_issues_a_bearer_token_for_good_credentials(
        client: TestClient, make_user: Callable[..., User], password: str) -> None:
    make_user("zhangsan", "duty")
    res = client.post("/api/auth/token", data={"username": "zhangsan", "password": password})
    assert res.status_code == 200
    body = res.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "zhangsan"
    assert "password_hash" not in me.json()


def test_it_refuses_a_token_for_bad_credentials(client: TestClient, password: str,
                                                make_user: Callable[..., User]) -> None:
    make_user("zhangsan", "duty")
    res = client.post("/api/auth/token", data={"username": "zhangsan", "password": "wrong-one"})
    assert res.status_code == 401
    assert res.json()["detail"] == "用户名或密码错误"
    unknown = client.post("/api/auth/token", data={"username": "nobody", "password": password})
    assert unknown.status_code == 401


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/users/me"), ("GET", "/api/mentions"), ("POST", "/api/mentions"),
    ("GET", "/api/events"), ("GET", "/api/alerts"), ("GET", "/api/tickets"),
    ("POST", "/api/tickets"), ("GET", "/api/units"), ("GET", "/api/sources"),
    ("GET", "/api/reports/annual?year=2026"), ("GET", "/api/dashboard/summary"),
])
def test_it_rejects_requests_without_a_token(client: TestClient, method: str, path: str) -> None:
    res = client.request(method, path)
    assert res.status_code == 401
    assert res.headers["www-authenticate"] == "Bearer"


def test_it_rejects_forged_expired_and_orphan_tokens(
        client: TestClient, app_env: Settings, make_user: Callable[..., User],
        auth: Auth) -> None:
    user = make_user("lisi", "leader")
    now = utcnow()
    forged = jwt.encode({"sub": str(user.id), "exp": now + timedelta(hours=1)},
                        "another-secret-key-of-sufficient-length", algorithm="HS256")
    expired = jwt.encode({"sub": str(user.id), "exp": now - timedelta(seconds=1)},
                         app_env.secret_key, algorithm="HS256")
    orphan = jwt.encode({"sub": "999999", "exp": now + timedelta(hours=1)},
                        app_env.secret_key, algorithm="HS256")
    for token in (forged, expired, orphan, "not-a-jwt"):
        res = client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 401, token
    assert client.get("/api/users/me", headers=auth(user)).status_code == 200


def test_it_refuses_a_deactivated_user(client: TestClient, make_user: Callable[..., User],
                                       session: Session, auth: Auth) -> None:
    user = make_user("wangwu", "duty")
    headers = auth(user)
    user.is_active = False
    session.add(user)
    session.commit()
    assert client.get("/api/users/me", headers=headers).status_code == 401


def test_it_keeps_a_generated_secret_key_across_restarts(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, secret_key="")
    token = security.create_access_token(7, role="duty", settings=settings)
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    security._persistent_key.cache_clear()  # a restarted process
    assert security.user_id_from_token(token, settings) == 7
    assert key_file.read_text() == security.signing_key(settings)


def test_tokens_expire_after_the_configured_minutes(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40, token_minutes=30)
    token = security.create_access_token(1, role="duty", settings=settings)
    claims = jwt.decode(token, "k" * 40, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 30 * 60


def test_it_publishes_openapi_docs_in_chinese(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "政务舆情监测与回应系统"
    assert "/api/tickets/{ticket_id}/sign-off" in spec["paths"]
