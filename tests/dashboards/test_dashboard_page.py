from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.security import create_access_token
from core.alerts.models import Alert
from core.config import get_settings
from core.events.models import Event
from core.timeutil import utcnow
from core.users.models import User
from dashboards import web

INJECTED = "<script>alert(1)</script>"
STATIC = Path(web.STATIC_DIR)
# Every way a script can turn a string into markup or code.
MARKUP_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|"
                          r"createContextualFragment|parseFromString|srcdoc|"
                          r"\beval\(|new Function|setAttribute\(\s*['\"]on|\.on\w+\s*=")


def test_the_page_forbids_inline_scripts_by_policy(client: TestClient) -> None:
    res = client.get("/")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    csp = res.headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"]
    assert "unsafe-eval" not in csp
    assert res.headers["x-content-type-options"] == "nosniff"
    # ...and the page has none: every script is an external file of this app.
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", res.text, flags=re.S)
    assert scripts
    for attrs, body in scripts:
        assert body.strip() == ""
        assert re.search(r'src="/static/', attrs)
    assert not re.search(r"\son\w+\s*=", res.text)  # no inline event handlers


def test_the_page_escapes_injected_markup(session: Session, monkeypatch: pytest.MonkeyPatch,
                                          ) -> None:
    monkeypatch.setenv("YUQING_OFFICE_NAME", INJECTED)
    get_settings.cache_clear()
    from api.main import create_app

    with TestClient(create_app()) as client:
        html = client.get("/").text
    assert INJECTED not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_scraped_titles_reach_the_page_only_as_text(client: TestClient, session: Session) -> None:
    event = Event(title=INJECTED, topic="other", grade="III", first_seen_at=utcnow(),
                  last_seen_at=utcnow())
    session.add(event)
    session.flush()
    assert event.id is not None
    session.add(Alert(event_id=event.id, level="III", reason="<img src=x onerror=alert(2)>",
                      dedupe_key=f"event:{event.id}:III"))
    user = User(username="leader", role="leader", password_hash="x")
    session.add(user)
    session.commit()
    assert user.id is not None
    headers = {"Authorization": f"Bearer {create_access_token(user.id, role='leader')}"}

    summary = client.get("/api/dashboard/summary", headers=headers).json()
    # JSON carries the title verbatim, as a string, for the page to set as textContent.
    assert summary["open_alerts"][0]["event_title"] == INJECTED
    assert INJECTED not in client.get("/").text

    js = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    assert not MARKUP_SINKS.search(js)
    assert "textContent" in js
    assert "a.event_title" in js  # the title is rendered, and only through el() → textContent


def test_the_static_assets_use_no_markup_sinks() -> None:
    for path in STATIC.rglob("*.js"):
        assert not MARKUP_SINKS.search(path.read_text(encoding="utf-8")), path


def test_echarts_is_served_locally(client: TestClient) -> None:
    if not web.ECHARTS_JS.is_file():
        pytest.skip("dashboards/node_modules absent: run `make install` (npm ci in dashboards/)")
    res = client.get("/static/vendor/echarts.min.js")
    assert res.status_code == 200
    assert "javascript" in res.headers["content-type"]
    assert b"echarts" in res.content[:2000]
    assert len(res.content) > 500_000
    assert '"echarts"' in (Path(web.HERE) / "package-lock.json").read_text()
    assert 'src="/static/vendor/echarts.min.js"' in client.get("/").text


def test_a_missing_echarts_404s_and_says_how_to_install_it(
        client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(web.VENDOR_FILES, "echarts.min.js", (tmp_path / "echarts.min.js", "text/javascript"))
    with caplog.at_level(logging.ERROR, logger="dashboards.web"):
        res = client.get("/static/vendor/echarts.min.js")
    assert res.status_code == 404
    assert "make install" in caplog.text
    # The page itself still works, and its script falls back to a table.
    assert client.get("/").status_code == 200
    assert client.get("/static/dashboard.js").status_code == 200


def test_api_docs_load_swagger_ui_from_this_app_not_a_cdn(app_env: object) -> None:
    from api.main import create_app
    from dashboards.web import VENDOR_FILES

    client = TestClient(create_app())
    page = client.get("/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    if not Path(VENDOR_FILES["swagger-ui-bundle.js"][0]).is_file():
        pytest.skip("dashboards/node_modules not installed (run make install)")
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/vendor/../../core/config.py").status_code == 404
