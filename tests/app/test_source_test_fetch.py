"""系统管理 → 监测源 → 立即采集: the real spider runs now against a local feed and says what it got."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.users.models import User

pytestmark = pytest.mark.slow

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>站前生活圈</title><link>http://127.0.0.1/</link><description>d</description>
<item><title>站前小区停车难</title><link>http://127.0.0.1/a/1.html</link><guid>a-1</guid>
<pubDate>Mon, 02 Mar 2026 09:00:00 +0800</pubDate><description>永安小区消防通道被私家车占满</description></item>
<item><title>和平小区垃圾没人清</title><link>http://127.0.0.1/a/2.html</link><guid>a-2</guid>
<pubDate>Mon, 02 Mar 2026 10:00:00 +0800</pubDate><description>垃圾三天没清运</description></item>
</channel></rss>""".encode()


class Feed(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/feed.xml":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(RSS)))
        self.end_headers()
        self.wfile.write(RSS)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_admin_fetches_a_source_now_and_sees_what_came_in_or_why_not(
        client: TestClient, make_user: Callable[..., User], auth: Callable[[User], dict[str, str]],
        feed_server: str) -> None:
    admin = auth(make_user("admin", "admin"))
    good = client.post("/api/sources", headers=admin, json={
        "name": "站前生活圈", "kind": "feed", "channel": "wechat", "url": f"{feed_server}/feed.xml"}).json()
    res = client.post(f"/api/sources/{good['id']}/test-fetch", headers=admin)
    assert res.status_code == 200, res.text
    result = res.json()
    assert (result["ok"], result["fetched"], result["new"]) == (True, 2, 2), result
    assert result["source"]["health"] == "ok" and result["source"]["last_success_at"]
    again = client.post(f"/api/sources/{good['id']}/test-fetch", headers=admin).json()
    assert (again["new"], again["duplicate"]) == (0, 2)

    broken = client.post("/api/sources", headers=admin, json={
        "name": "失效的源", "kind": "feed", "channel": "news", "url": f"{feed_server}/gone.xml"}).json()
    failed = client.post(f"/api/sources/{broken['id']}/test-fetch", headers=admin).json()
    assert failed["ok"] is False and failed["error"] and failed["source"]["health"] != "ok"
    duty = auth(make_user("duty", "duty"))
    assert client.post(f"/api/sources/{good['id']}/test-fetch", headers=duty).status_code == 403
