"""Test helpers: a real HTTP server on 127.0.0.1 serving feed bytes, a fresh migrated database per test."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core import migrate
from core.config import get_settings
from core.db import get_engine, reset_engine
from core.sources import service as source_service
from core.sources.models import Source, SourceCreate
from crawlers.run import run_crawl_subprocess

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: str | None = None  # answer 304 when the request's If-None-Match matches


class FeedServer:
    """Serves configurable bytes per path and records the headers of every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.bodies: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                with server._lock:
                    server.bodies.append((self.path, self.rfile.read(length)))
                self.do_GET()

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append((self.path, dict(self.headers.items())))
                    route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                    return
                if route.delay:
                    time.sleep(route.delay)
                status, body = route.status, route.body
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    status, body = 304, b""
                try:
                    self.send_response(status)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    if route.etag:
                        self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def serve(self, path: str, body: bytes = b"", **kwargs: Any) -> str:
        self.routes[path] = Route(body=body, **kwargs)
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [headers for p, headers in self.requests if path in (p, p.split("?")[0])]


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def db(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    """A fresh database (SQLite and PostgreSQL) built by the migrations, as deployed; the crawl
    child process finds it through the env."""
    monkeypatch.setenv("YUQING_DATABASE_URL", database_url)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    reset_engine()
    migrate.upgrade(database_url)
    yield get_engine()
    reset_engine()
    get_settings.cache_clear()


@pytest.fixture
def stored_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the child's on_stored hook writes the ids it was given."""
    log = tmp_path / "stored.jsonl"
    log.touch()
    monkeypatch.setenv("YUQING_TEST_STORED_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent))
    return log


def read_stored_log(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def add_source(engine: sa.Engine, name: str, url: str, **fields: Any) -> int:
    with Session(engine) as session:
        source = source_service.create(
            session=session, source_in=SourceCreate(name=name, kind=fields.pop("kind", "feed"), url=url, **fields))
        session.commit()
        assert source.id is not None
        return source.id


def get_source(engine: sa.Engine, name: str) -> Source:
    with Session(engine, expire_on_commit=False) as session:
        source = source_service.get_by_name(session=session, name=name)
        assert source is not None
        return source


def crawl(names: list[str] | None = None, **settings: Any) -> dict[str, Any]:
    """One crawl in a child process, without politeness delays (it is our own server)."""
    options: dict[str, Any] = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
                               "RETRY_TIMES": 1, "LOG_LEVEL": "INFO", "YUQING_RETRY_BACKOFF_BASE": 0.1,
                               "YUQING_ON_STORED": "crawl_hook_recorder.record"}
    options.update(settings)
    # A generous bound: the machine may be busy, and PostgreSQL commits each post on its own.
    return run_crawl_subprocess(names, timeout=180, settings=options)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
