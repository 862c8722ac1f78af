"""Read-check-write on one row from two sessions at once, on PostgreSQL: the second sees the first's write."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from core.alerts import service as alerts
from core.alerts.models import Alert
from core.config import Settings
from core.db import get_engine
from core.errors import Conflict
from tests.core.factories import make_event
from tests.realstack import wait_for

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_alert_signed_for_and_dismissed_at_once_is_handled_once(app_env: Settings) -> None:
    with Session(get_engine()) as s:
        alert = alerts.open_for_event(session=s, event=make_event(s, grade="III"))
        assert alert is not None and alert.id is not None
        s.commit()
        alert_id = alert.id
    first = Session(get_engine())
    alerts.acknowledge(session=first, alert_id=alert_id, user_id=None)
    first.flush()  # signed for, not yet committed
    outcome: list[object] = []

    def second() -> None:
        with Session(get_engine()) as s:
            try:
                alerts.dismiss(session=s, alert_id=alert_id, user_id=None, reason="误报")
                s.commit()
                outcome.append("dismissed")
            except Conflict as exc:
                outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()

    def waiting() -> bool:
        with get_engine().connect() as conn:
            return bool(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar())

    try:
        wait_for(waiting, timeout=60, what="the second officer waiting for the first")
    finally:
        first.commit()
        first.close()
        thread.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    with Session(get_engine()) as s:
        stored = s.get(Alert, alert_id)
        assert stored is not None and stored.status == "acknowledged"
