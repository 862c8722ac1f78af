"""Lists are set-based: the number of SQL statements does not grow with the rows shown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from core.db import get_engine
from core.events.models import Event
from core.timeutil import to_local, utcnow
from core.units.models import Unit
from core.users.models import User


@contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = get_engine()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_queues_alerts_search_and_workspace_cost_the_same_for_2_or_12_rows(
        client: TestClient, session: Session, make_user: Callable[..., User],
        make_unit: Callable[[str], Unit], make_event: Callable[..., Event],
        auth: Callable[[User], dict[str, str]]) -> None:
    unit, other = make_unit("站前社区"), make_unit("城建办")
    leader = auth(make_user("leader", "leader"))
    duty = auth(make_user("duty", "duty"))

    def add(n: int) -> None:
        for k in range(n):
            event = make_event(f"事件{k}-{n}", grade="II", alert=True)
            res = client.post("/api/tickets", headers=duty, json={
                "event_id": event.id, "unit_id": unit.id, "assisting_unit_ids": [other.id]})
            assert res.status_code == 201

    urls = ["/api/tickets?queue=all", "/api/tickets?queue=review", "/api/alerts?state=all",
            "/api/mentions/search", "/api/workspace", "/api/dashboard/summary?days=30",
            f"/api/ledger?year={to_local(utcnow()).year}"]

    def cost() -> dict[str, int]:
        out = {}
        for url in urls:
            with counting() as statements:
                assert client.get(url, headers=leader).status_code == 200
            out[url] = len(statements)
        return out

    add(2)
    few = cost()
    add(10)
    assert cost() == few

