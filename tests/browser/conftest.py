"""Browser tests: the built app served by the real FastAPI app (real CSP) on a free loopback port, on PostgreSQL,
driven by Debian's Chromium through Playwright. One server and one browser per session; one context per role.

Fixtures for test modules:
- `server`       base URL of the served app (seeded people and units: see `People`)
- `people`       usernames by role, the password, unit ids
- `open_as(role, path, mobile=False)` → a Page logged in as that role (token seeded in sessionStorage), at `path`
- `seed`         a Seeder to add events/alerts straight into the database (`seed.event(..., alert=True)`)
- `axe_check(page)` runs axe-core (wcag2a/aa) and fails on serious/critical violations
Every page opened through `open_as` or `new_page` fails its test on a console error, a CSP report,
a failed request or an HTTP error answer that the test did not declare with `watch.allow(status, url_part)`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

from tests.conftest import PG_URL, REPO, unavailable

CHROMIUM = os.environ.get("YUQING_CHROMIUM", "/usr/bin/chromium")
AXE_JS = REPO / "dashboards" / "node_modules" / "axe-core" / "axe.min.js"
INDEX = REPO / "dashboards" / "dist" / "index.html"
PASSWORD = "Browser-test-pass-2026"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("YUQING_SCREENSHOTS", REPO / "var" / "screenshots"))
WAIT_MS = 20_000  # generous bound for a condition, never a sleep

pytestmark = pytest.mark.slow


@dataclass
class People:
    password: str
    units: dict[str, int]
    users: dict[str, str]  # role-ish key → username
    ids: dict[str, int]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser_database_url() -> Iterator[str]:
    from core.config import normalize_database_url

    base = sa.make_url(normalize_database_url(PG_URL))
    target = base.set(database=f"yuqing_browser_{os.getpid()}")
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable("PostgreSQL", exc)
    url = target.render_as_string(hide_password=False)
    from core import migrate

    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def db_engine(browser_database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(browser_database_url)
    yield engine
    engine.dispose()


class Seeder:
    """Rows written straight to the served app's database (what collection and analysis would have produced)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.n = 0

    def event(self, title: str, *, grade: str | None = "II", topic: str = "parking", alert: bool = True,
              posts: int = 2, seen_at: datetime | None = None, reason: str = "负面信息集中，转评快速上升") -> int:
        from sqlmodel import Session

        from core.alerts.models import Alert
        from core.events.models import Event
        from core.mentions import service as mentions
        from core.mentions.models import MentionCreate
        from core.timeutil import utcnow

        seen = seen_at or utcnow()
        with Session(self.engine) as session:
            event = Event(title=title, topic=topic, grade=grade, first_seen_at=seen, last_seen_at=seen,
                          mention_count=posts, topics=[topic], grade_reason=reason if grade else "")
            session.add(event)
            session.flush()
            for i in range(posts):
                self.n += 1
                m = mentions.ingest(session=session, mention_in=MentionCreate(
                    channel="weibo" if i % 2 == 0 else "board", external_id=f"bt-{event.id}-{self.n}",
                    title=title, text=f"{title}。网友{i + 1}：已经好几天了，希望有关部门尽快处理。",
                    author=f"网友{i + 1}", url=f"https://weibo.example/{event.id}/{i}", published_at=seen,
                    likes=10 * (i + 1), reposts=3 * (i + 1), comments=5 * (i + 1))).mention
                m.event_id, m.sentiment, m.topics = event.id, "negative", [topic]
                session.add(m)
            if alert and grade:
                assert event.id is not None
                session.add(Alert(event_id=event.id, level=grade, reason=reason,
                                  dedupe_key=f"event:{event.id}:{grade}"))
            session.commit()
            assert event.id is not None
            return event.id


@pytest.fixture(scope="session")
def seed(db_engine: sa.Engine) -> Seeder:
    return Seeder(db_engine)


@pytest.fixture(scope="session")
def people(db_engine: sa.Engine) -> People:
    from sqlmodel import Session

    from core.units.models import Unit
    from core.users.models import User
    from core.users.service import hash_password

    digest = hash_password(PASSWORD)
    with Session(db_engine) as session:
        units = {name: Unit(name=name, kind=kind) for name, kind in
                 (("城管科", "department"), ("站前社区", "community"), ("综合执法队", "department"))}
        session.add_all(units.values())
        session.flush()
        spec = {
            "admin": ("bt_admin", "系统管理员王", "admin", None),
            "leader": ("bt_leader", "李主任", "leader", None),
            "duty": ("bt_duty", "值班员张", "duty", None),
            "handler": ("bt_handler", "承办人赵", "handler", "城管科"),
            "assist": ("bt_assist", "社区刘", "handler", "站前社区"),
        }
        users: dict[str, User] = {}
        for key, (username, name, role, unit) in spec.items():
            users[key] = User(username=username, full_name=name, role=role, password_hash=digest,
                              unit_id=units[unit].id if unit else None)
        session.add_all(users.values())
        session.commit()
        return People(password=PASSWORD, units={k: int(v.id or 0) for k, v in units.items()},
                      users={k: v.username for k, v in users.items()},
                      ids={k: int(v.id or 0) for k, v in users.items()})


@pytest.fixture(scope="session")
def server(browser_database_url: str, people: People, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not INDEX.is_file():
        pytest.fail(f"{INDEX} missing: build the web app first (`make install`)")
    port = _free_port()
    env = {**os.environ, "YUQING_DATABASE_URL": browser_database_url,
           "YUQING_SECRET_KEY": "browser-test-secret-key-of-sufficient-length-0123456789",
           "YUQING_VAR_DIR": str(tmp_path_factory.mktemp("var"))}
    env.pop("YUQING_REDIS_URL", None)
    log = tmp_path_factory.mktemp("log") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, proc, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_until_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # polling a condition (the server answering), bounded by the deadline above
    pytest.fail("server did not answer /api/health within 60 s")


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM)
    yield b
    b.close()


@dataclass
class Watch:
    """What went wrong on a page: console errors, CSP reports, failed requests, HTTP errors."""

    problems: list[str] = field(default_factory=list)
    allowed: list[tuple[int, str]] = field(default_factory=list)

    def allow(self, status: int, url_part: str) -> None:
        """Declare an HTTP error answer the test provokes on purpose (a refused action)."""
        self.allowed.append((status, url_part))

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.text.startswith("Failed to load resource: the server responded with a status of"):
            return  # Chromium's echo of an HTTP error answer: on_response judges those (with `allow`)
        if msg.type == "error" or "Content Security Policy" in msg.text:
            self.problems.append(f"console {msg.type}: {msg.text}")

    def on_failed(self, req: Request) -> None:
        failure = req.failure or ""
        if "ERR_ABORTED" in failure:  # cancelled on purpose (AbortController, navigation)
            return
        self.problems.append(f"request failed: {req.method} {req.url} {failure}")

    def on_response(self, res: Response) -> None:
        if res.status < 400:
            return
        if any(res.status == s and part in res.url for s, part in self.allowed):
            return
        self.problems.append(f"HTTP {res.status}: {res.request.method} {res.url}")

    def on_page_error(self, err: Any) -> None:
        self.problems.append(f"page error: {err}")


@dataclass
class Session:
    context: BrowserContext
    page: Page
    watch: Watch


@pytest.fixture
def new_page(browser: Browser, server: str) -> Iterator[Callable[..., Session]]:
    """new_page(mobile=False, token=None) → a fresh context (and page) watched for errors."""
    opened: list[Session] = []

    def make(mobile: bool = False, token: str | None = None) -> Session:
        kwargs: dict[str, Any] = {"base_url": server, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
        if mobile:
            kwargs.update(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        else:
            kwargs.update(viewport=DESKTOP)
        context = browser.new_context(**kwargs)
        context.set_default_timeout(WAIT_MS)
        if token:
            context.add_init_script(f"window.sessionStorage.setItem('yuqing.token', {token!r});")
        page = context.new_page()
        watch = Watch()
        page.on("console", watch.on_console)
        page.on("requestfailed", watch.on_failed)
        page.on("response", watch.on_response)
        page.on("pageerror", watch.on_page_error)
        s = Session(context, page, watch)
        opened.append(s)
        return s

    yield make
    problems = [p for s in opened for p in s.watch.problems]
    for s in opened:
        s.context.close()
    assert not problems, "problems on the page:\n" + "\n".join(problems)


_tokens: dict[str, str] = {}


def token_for(server: str, username: str, password: str) -> str:
    """One password round trip per user per session (scrypt is slow; tokens live long enough)."""
    if username not in _tokens:
        res = httpx.post(f"{server}/api/auth/token", data={"username": username, "password": password}, timeout=30)
        res.raise_for_status()
        _tokens[username] = res.json()["access_token"]
    return _tokens[username]


@pytest.fixture
def open_as(new_page: Callable[..., Session], server: str, people: People) -> Callable[..., Session]:
    """open_as('duty', '/alerts', mobile=False) → a logged-in Session at that path (the app has rendered)."""

    def make(who: str, path: str = "/workspace", mobile: bool = False) -> Session:
        username = people.users.get(who, who)
        s = new_page(mobile=mobile, token=token_for(server, username, people.password))
        s.page.goto(path)
        s.page.wait_for_selector("[data-testid=side-menu], [data-testid=page-403], [data-testid=page-404]",
                                 state="attached")
        return s

    return make


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} missing: run `make install`")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def axe_check(axe_source: str) -> Callable[[Page], None]:
    """Inject axe-core with page.evaluate (a script tag would be refused by the CSP) and fail on serious ones."""

    def check(page: Page) -> None:
        # Judge the settled page: while a dialog or drawer is still fading in (Element Plus dialog-fade, ~0.3 s),
        # its text is composited at part opacity and axe would measure every label's colour as too faint.
        # Endless animations (spinners) are left out, or this would never return.
        page.wait_for_function(
            "() => document.getAnimations().every(a => a.playState !== 'running'"
            " || a.effect?.getComputedTiming().iterations === Infinity)")
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(axe_source)
        violations = page.evaluate(
            "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}}))"
            ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))")
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe on {page.url}:\n" + "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']} → {v['targets']}" for v in bad)

    return check


@pytest.fixture
def no_sideways_scroll() -> Callable[[Page], None]:
    def check(page: Page) -> None:
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"page scrolls sideways on {page.url}: {widths[0]} > {widths[1]}"

    return check


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Save a full-page PNG under var/screenshots (or $YUQING_SCREENSHOTS) for people to look at."""

    def shoot(page: Page, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
