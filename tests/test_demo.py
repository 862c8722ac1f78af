"""`yuqing run` as a new user meets it: a demo year in the ledger, served over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from cli.demo import demo_year, load_site

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _expected(site: dict) -> dict[str, int]:
    """What the demo's own data implies: one event per story, responses as planned."""
    plans = site["responses"]
    return {
        "responded_events": sum(1 for plan in plans.values() if plan),
        "policy_interpretations": sum(1 for plan in plans.values() for r in plan if r["kind"] == "interpretation"),
        "weibo_wechat_responses": sum(
            1 for plan in plans.values()
            if any(r["kind"] == "response" and r["channel"] in ("weibo", "wechat") for r in plan)),
    }


def test_yuqing_run_serves_the_dashboard_and_last_years_report(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update(YUQING_VAR_DIR=str(tmp_path / "var"), YUQING_ADMIN_PASSWORD="demo-password-1")
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "run", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"yuqing run exited: {(tmp_path / 'run.log').read_text()}"
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "dashboard not served within 3 minutes"
            time.sleep(0.5)

        with urllib.request.urlopen(base + "/", timeout=5) as r:
            assert "舆情" in r.read().decode()
        form = urllib.parse.urlencode({"username": "admin", "password": "demo-password-1"}).encode()
        with urllib.request.urlopen(urllib.request.Request(base + "/api/auth/token", data=form), timeout=5) as r:
            token = json.loads(r.read())["access_token"]
        year = demo_year()
        req = urllib.request.Request(f"{base}/api/reports/annual?year={year}",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            report = json.loads(r.read())
        expected = _expected(load_site())
        assert {k: report[k] for k in expected} == expected
        assert all(v > 0 for v in expected.values())
        assert f"共回应公众关注热点或舆情{expected['responded_events']}次" in report["text"]
        assert sum(report["topics"].values()) == expected["responded_events"]
        log.seek(0)
        assert "登录用户 admin" in log.read()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
