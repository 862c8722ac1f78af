"""Read-check-write on one row from two sessions at once, on PostgreSQL: the second sees the first's write.

The rule (h9-app): an alert already signed for may still be dismissed as a false alarm once the
officer has looked; signing for twice is not allowed. So the races that matter are two officers
signing for at once (exactly one wins, the other gets a conflict) and a sign-for racing a dismissal
(the dismissal waits for the row lock and sees the alert signed for: one final state, each action
recorded once, in order). Without `with_for_update` both would read 'open'.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core.alerts import service as alerts
from core.alerts.models import Alert
from core.audit.models import AuditLog
from core.config import Settings
from core.db import get_engine
from core.errors import Conflict
from tests.core.factories import make_event
from tests.realstack import wait_for

pytestmark = pytest.mark.postgres


def _new_alert() -> int:
    with Session(get_engine()) as s:
        alert = alerts.open_for_event(session=s, event=make_event(s, grade="III"))
        assert alert is not None and alert.id is not None
        s.commit()
        return alert.id


def _race(alert_id: int, first_action: Callable[[Session], object],
          second_action: Callable[[Session], object]) -> list[object]:
    """The first officer acts and holds the row (flushed, not committed); the second acts meanwhile
    and must wait for the lock; then the first commits. Returns the second's outcome."""
    first = Session(get_engine())
    first_action(first)
    first.flush()  # done, not yet committed: the row stays locked
    outcome: list[object] = []

    def second() -> None:
        with Session(get_engine()) as s:
            try:
                second_action(s)
                s.commit()
                outcome.append("done")
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
    assert not thread.is_alive()
    return outcome


def _audit(alert_id: int) -> list[AuditLog]:
    with Session(get_engine()) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.entity == "alert", AuditLog.entity_id == alert_id,
                                                  AuditLog.action.in_(("acknowledge", "dismiss")))  # type: ignore[attr-defined]
                           .order_by(AuditLog.id)).all())


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_alert_signed_for_twice_at_once_is_signed_for_once(app_env: Settings) -> None:
    alert_id = _new_alert()
    outcome = _race(alert_id,
                    lambda s: alerts.acknowledge(session=s, alert_id=alert_id, user_id=None),
                    lambda s: alerts.acknowledge(session=s, alert_id=alert_id, user_id=None))
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    with Session(get_engine()) as s:
        stored = s.get(Alert, alert_id)
        assert stored is not None and stored.status == "acknowledged"
    assert [a.action for a in _audit(alert_id)] == ["acknowledge"]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_alert_signed_for_and_dismissed_at_once_is_handled_once(app_env: Settings) -> None:
    alert_id = _new_alert()
    outcome = _race(alert_id,
                    lambda s: alerts.acknowledge(session=s, alert_id=alert_id, user_id=None),
                    lambda s: alerts.dismiss(session=s, alert_id=alert_id, user_id=None, reason="误报"))
    # A signed-for alert may still be dismissed (h9-app), so the dismissal goes through ...
    assert outcome == ["done"], outcome
    with Session(get_engine()) as s:
        stored = s.get(Alert, alert_id)
        assert stored is not None and stored.status == "dismissed" and stored.dismiss_reason == "误报"
    # ... but only after the lock: it saw the signature (not 'open'), and each action is recorded once.
    trail = _audit(alert_id)
    assert [(a.action, a.before, a.after) for a in trail] == [
        ("acknowledge", {"status": "open"}, {"status": "acknowledged"}),
        ("dismiss", {"status": "acknowledged"}, {"status": "dismissed"}),
    ]
