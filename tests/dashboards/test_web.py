"""dashboards.web: the built app at / with SPA fallback and the CSP; API 404s stay JSON; /docs is local."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dashboards import web

pytestmark = pytest.mark.skipif(not web.INDEX.is_file(), reason="web app not built: run `make install`")


def test_the_app_is_served_at_the_root_with_the_policy(client: TestClient) -> None:
    res = client.get("/")
    assert res.status_code == 200
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert res.headers["x-frame-options"] == "DENY"
    assert res.headers["cache-control"] == "no-store"
    assert '<div id="app">' in res.text
    assert "<script>" not in res.text  # no inline script: the CSP would refuse it


def test_a_deep_link_gets_the_app_not_a_404(client: TestClient) -> None:
    for path in ("/tickets/7", "/alerts?id=3", "/admin/users", "/no/such/page"):
        res = client.get(path)
        assert res.status_code == 200, path
        assert '<div id="app">' in res.text


def test_unknown_api_paths_and_assets_stay_404(client: TestClient) -> None:
    res = client.get("/api/no-such-thing")
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("application/json")
    assert client.get("/assets/no-such.js").status_code == 404


def test_the_hashed_bundles_are_served_and_cached(client: TestClient) -> None:
    page = client.get("/").text
    src = page.split('src="', 1)[1].split('"', 1)[0]
    assert src.startswith("/assets/")
    res = client.get(src)
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/javascript")
    assert "immutable" in res.headers["cache-control"]


def test_the_office_name_reaches_the_page_escaped(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import get_settings

    monkeypatch.setenv("YUQING_OFFICE_NAME", '站前街道"><script>alert(1)</script>')
    get_settings.cache_clear()
    try:
        text = client.get("/").text
    finally:
        get_settings.cache_clear()
    assert 'content="站前街道&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in text
    assert "<script>alert(1)" not in text


def test_api_docs_load_swagger_ui_from_this_app_not_a_cdn(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/swagger-ui.css").headers["content-type"].startswith("text/css")
    escaped = client.get("/static/vendor/../../core/config.py")  # the app page at most, never the file
    assert "BaseSettings" not in escaped.text
    assert client.get("/static/vendor/config.py").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"]


def test_bundles_travel_gzipped_to_browsers_that_accept_it(client: TestClient) -> None:
    page = client.get("/").text
    src = page.split('src="', 1)[1].split('"', 1)[0]
    plain = client.get(src, headers={"Accept-Encoding": "identity"})
    packed = client.get(src, headers={"Accept-Encoding": "gzip, deflate"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["content-type"].startswith("text/javascript")
    assert packed.content == plain.content  # httpx decodes: the same script either way
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
