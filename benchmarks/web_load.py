"""Page load times of the web app's main pages in Chromium: first load (empty cache) and a reload (warm cache).

    .venv/bin/python benchmarks/web_load.py http://127.0.0.1:8000 admin <password>

Measures until the page's data is on screen (its data-testid), not just the HTML. Also prints the built bundle size.
"""

from __future__ import annotations

import gzip
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

DIST = Path(__file__).resolve().parent.parent / "dashboards" / "dist"
PAGES = [("/workspace", "my-queue"), ("/alerts", "alert-list"), ("/tickets", "ticket-queue"),
         ("/mentions", "page-mentions"), ("/dashboard", "page-dashboard"), ("/reports", "page-reports"),
         ("/duty", "on-duty-now")]


def bundle_size() -> tuple[int, int]:
    files = [p for p in (DIST / "assets").glob("*") if p.suffix in {".js", ".css"}]
    raw = sum(p.stat().st_size for p in files)
    return raw, sum(len(gzip.compress(p.read_bytes(), 6)) for p in files)


def main(base: str, username: str, password: str) -> None:
    token = httpx.post(f"{base}/api/auth/token", data={"username": username, "password": password},
                       timeout=30).json()["access_token"]
    raw, packed = bundle_size()
    print(f"bundle: {raw / 1024:.0f} KiB of JS+CSS, {packed / 1024:.0f} KiB gzipped")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for path, ready in PAGES:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base)
            context.add_init_script(f"window.sessionStorage.setItem('yuqing.token', {token!r});")
            page = context.new_page()
            times: list[float] = []
            for _ in range(2):  # first: cold cache; second: reload with the browser cache warm
                start = time.perf_counter()
                if times:
                    page.reload()
                else:
                    page.goto(path)
                page.get_by_test_id(ready).first.wait_for(state="visible", timeout=30_000)
                times.append((time.perf_counter() - start) * 1000)
            print(f"{path:12} first load {times[0]:6.0f} ms   after cache {times[1]:6.0f} ms")
            context.close()
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
