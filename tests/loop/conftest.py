"""An office with a roster, posts and units, and a local HTTP receiver standing in for the robots."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
from sqlmodel import Session

from core.duty import service as duty
from core.duty.models import DutyShiftCreate, StaffPostCreate
from core.timeutil import SHANGHAI
from core.units.models import Unit
from core.users.models import User
from tests.core.factories import make_unit, make_user

DINGTALK_SECRET = "SECtest-dingtalk-secret-0123456789"


@dataclass
class Office:
    unit: Unit
    other_unit: Unit
    people: dict[str, User]

    def id(self, name: str) -> int:
        user_id = self.people[name].id
        assert user_id is not None
        return user_id


@pytest.fixture
def office(session: Session) -> Office:
    """站前街道: a duty officer and a duty leader on shift all October 2025, a unit with its
    handler and head, a 分管领导 for parking and the 主要领导."""
    unit = make_unit(session, "站前街道城管执法中队", "parking")
    other = make_unit(session, "站前街道社区服务中心", "welfare")
    people = {
        "duty": make_user(session, "duty_wang", "duty"),
        "duty_leader": make_user(session, "lead_zhao", "leader"),
        "handler": make_user(session, "handler_li", "handler", unit.id),
        "other_handler": make_user(session, "handler_sun", "handler", other.id),
        "head": make_user(session, "head_zhou", "handler", unit.id),
        "deputy": make_user(session, "deputy_qian", "leader"),
        "principal": make_user(session, "chief_wu", "leader"),
    }
    for name, user in people.items():
        user.full_name = {"duty": "王值班", "duty_leader": "赵带班", "handler": "李承办",
                          "other_handler": "孙承办", "head": "周队长", "deputy": "钱分管",
                          "principal": "吴主任"}[name]
        session.add(user)
    start = datetime(2025, 9, 20, 8, 30, tzinfo=SHANGHAI)
    for role, name in (("officer", "duty"), ("leader", "duty_leader")):
        duty.create_shift(session=session, actor_id=None, shift_in=DutyShiftCreate(
            user_id=people[name].id or 0, role=role, starts_at=start, ends_at=start + timedelta(days=40)))
    for post, name, unit_id, topics, mobile in (
            ("unit_head", "head", unit.id, "", "13800000002"),
            ("deputy_leader", "deputy", None, "parking,snow", "13800000003"),
            ("principal", "principal", None, "", "13800000004"),
            ("staff", "duty", None, "", "13800000001")):
        duty.create_post(session=session, actor_id=None, post_in=StaffPostCreate(
            user_id=people[name].id or 0, post=post, unit_id=unit_id, topics=topics, mobile=mobile))
    session.commit()
    return Office(unit, other, people)


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic()

    def text(self) -> str:
        if "markdown" in self.body:
            return str(self.body["markdown"].get("content") or self.body["markdown"].get("text"))
        return str(self.body.get("text", {}).get("content", ""))


@dataclass
class Receiver:
    """Stands in for qyapi.weixin.qq.com and oapi.dingtalk.com on 127.0.0.1."""

    base_url: str
    messages: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    fail_next: dict[str, int] = field(default_factory=dict)  # path -> how many 500s to answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if m.path == path]


def dingtalk_sign_ok(query: dict[str, str], secret: str) -> bool:
    """Check DingTalk 加签 the way DingTalk does (within an hour of its clock)."""
    try:
        ts = int(query["timestamp"])
    except (KeyError, ValueError):
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    return hmac.compare_digest(unquote_plus(query.get("sign", "")), expected) and \
        abs(time.time() * 1000 - ts) < 3600 * 1000


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            # parse_qs decodes once; keep the raw sign to check its url-encoding too.
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            raw_sign = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("sign", "")
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            status, answer = 200, {"errcode": 0, "errmsg": "ok"}
            with state.lock:
                if state.fail_next.get(parts.path, 0) > 0:
                    state.fail_next[parts.path] -= 1
                    status, answer = 500, {"errcode": -1, "errmsg": "busy"}
                elif parts.path.startswith("/dingtalk") and not dingtalk_sign_ok(
                        {**query, "sign": raw_sign}, DINGTALK_SECRET):
                    state.bad_signatures += 1
                    answer = {"errcode": 310000, "errmsg": "sign not match"}
                else:
                    state.messages.append(Received(parts.path, query, body, time.monotonic()))
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def max_in_window(times: list[float], window: float) -> int:
    """The most messages that arrived within any `window` seconds."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
