"""The API edge under a fuzzer's and an attacker's input: bounded numbers, body caps, echo limits,
unencodable text, impossible dates, and the same headers on every answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from core.bounds import INT4_MAX
from core.users.models import User

Auth = Callable[[User], dict[str, str]]


@pytest.fixture
def admin(make_user: Callable[..., User], auth: Auth) -> dict[str, str]:
    return auth(make_user("edge-admin", "admin"))


@pytest.mark.parametrize("method,path,body", [
    ("GET", f"/api/tickets/{INT4_MAX + 1}", None),
    ("GET", "/api/mentions/99999999999999999999", None),
    ("GET", f"/api/mentions?offset={2 ** 63}", None),
    ("GET", f"/api/tickets?unit_id={2 ** 40}", None),
    ("GET", f"/api/mentions?event_id={2 ** 40}", None),
    ("GET", f"/api/audit?entity_id={2 ** 40}", None),
    ("GET", f"/api/reports/annual?year={2 ** 40}", None),
    ("POST", "/api/tickets", {"event_id": 2 ** 40}),
    ("POST", "/api/tickets", {"event_id": 1, "unit_id": -1}),
    ("POST", "/api/duty/shifts", {"user_id": 1}),
    ("POST", "/api/duty/shifts", {"user_id": 2 ** 40, "starts_at": "2026-01-01T00:00:00Z",
                                  "ends_at": "2026-01-02T00:00:00Z"}),
    ("POST", "/api/sources", {"name": "x", "url": "https://example.org/feed", "schedule_minutes": 2 ** 40}),
    ("POST", "/api/users", {"username": "big", "password": "long-enough-1", "unit_id": 2 ** 40}),
    ("POST", "/api/mentions", {"text": "x", "published_at": "9999-12-31T23:59:59-12:00"}),
    ("POST", "/api/intake/calls", {"text": "x", "received_at": "0001-01-01T00:00:00+14:00"}),
    ("GET", "/api/duty/shifts?start=9999-12-31T23:59:59-12:00", None),
    ("GET", "/api/duty/now?at=9999-12-31T23:00:00Z", None),
])
def test_out_of_range_input_is_a_422_not_a_500(
        client: TestClient, admin: dict[str, str], method: str, path: str, body: object) -> None:
    res = client.request(method, path, json=body, headers=admin)
    assert res.status_code == 422, res.text
    answer = res.json()
    assert isinstance(answer["detail"], str)
    assert isinstance(answer.get("errors", []), list)


def test_a_lone_surrogate_in_any_body_is_refused_cleanly(client: TestClient, admin: dict[str, str]) -> None:
    raw = b'{"title": "\\ud800", "text": "x"}'
    for path in ("/api/mentions", "/api/intake/calls", "/api/units"):
        res = client.post(path, content=raw, headers={**admin, "Content-Type": "application/json"})
        assert res.status_code == 422, res.text
        assert isinstance(res.json()["detail"], str)
    # A pair (a real character outside the BMP) is fine.
    ok = client.post("/api/mentions", content=b'{"text": "\\ud83d\\ude00 \xe5\x81\x9c\xe8\xbd\xa6"}',
                     headers={**admin, "Content-Type": "application/json"})
    assert ok.status_code == 201, ok.text


def test_a_422_does_not_echo_a_huge_input(client: TestClient, admin: dict[str, str]) -> None:
    huge = "站" * 200_000  # 600 KB: under the body cap, over the field's max_length
    res = client.post("/api/mentions", json={"title": huge}, headers=admin)
    assert res.status_code == 422
    assert len(res.content) < 5000
    assert huge[:1000] not in res.text


def test_a_body_over_the_cap_is_a_413(client: TestClient, admin: dict[str, str]) -> None:
    big = json.dumps({"text": "x" * 1_100_000}).encode()
    res = client.post("/api/mentions", content=big, headers={**admin, "Content-Type": "application/json"})
    assert res.status_code == 413
    assert isinstance(res.json()["detail"], str)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what arrives
        yield b'{"text": "'
        for _ in range(120):
            yield b"x" * 10_000
        yield b'"}'

    res = client.post("/api/mentions", content=chunks(), headers={**admin, "Content-Type": "application/json"})
    assert res.status_code == 413
    # The cap is a setting.
    small = client.post("/api/units", json={"name": "u" * 50}, headers=admin)
    assert small.status_code == 201


def test_the_cap_follows_the_setting(client: TestClient, admin: dict[str, str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import get_settings

    monkeypatch.setattr(get_settings(), "max_body_bytes", 100)
    assert client.post("/api/units", json={"name": "n" * 200}, headers=admin).status_code == 413
    assert client.post("/api/units", json={"name": "n"}, headers=admin).status_code == 201


def test_every_answer_carries_the_security_headers_and_no_store(
        client: TestClient, admin: dict[str, str]) -> None:
    for path in ("/api/health", "/api/tickets", "/api/nothing-here", "/openapi.json", "/docs",
                 "/api/ledger?year=2026&format=csv", "/api/ledger?year=2026&format=xlsx", "/"):
        res = client.get(path, headers=admin)
        assert res.status_code < 500, path
        assert res.headers["cache-control"] == "no-store", path
        assert res.headers["x-content-type-options"] == "nosniff", path
        assert res.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in res.headers["content-security-policy"], path
    unauthenticated = client.get("/api/tickets")
    assert unauthenticated.status_code == 401 and unauthenticated.headers["cache-control"] == "no-store"
    # /docs runs Swagger UI's one inline script, allowed by its hash and nothing else.
    csp = client.get("/docs").headers["content-security-policy"]
    assert "'sha256-" in csp and "unsafe-inline' ;" not in csp and "script-src 'self' 'sha256-" in csp


def test_the_published_schema_describes_the_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["ValidationProblem"]["properties"]["detail"]["type"] == "string"
    for path, item in spec["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert {"401", "403", "404", "409", "413", "422", "429"} <= codes, (method, path)
            ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ValidationProblem"), (method, path)
            for param in op.get("parameters", []):
                schema = param["schema"]
                kinds = [schema, *schema.get("anyOf", [])]
                for kind in kinds:
                    if kind.get("type") == "integer":
                        assert "maximum" in kind, (method, path, param["name"])
