"""core.reports.dashboard: days are cut in Asia/Shanghai, not UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from core.errors import InvalidInput
from core.mentions import service as mentions
from core.mentions.models import MentionCreate
from core.reports import dashboard
from core.tickets.models import Ticket


def add_mention(session: Session, ext: str, published_at: datetime | None,
                sentiment: str = "") -> None:
    m = mentions.ingest(session=session, mention_in=MentionCreate(
        channel="news", external_id=ext, title=ext, published_at=published_at)).mention
    m.sentiment = sentiment
    session.add(m)


def test_it_counts_mentions_on_their_local_day(session: Session) -> None:
    now = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 on 2 March in Shanghai
    # 17:30 UTC on 1 March is 01:30 on 2 March in Shanghai: today, not yesterday.
    add_mention(session, "a", datetime(2026, 3, 1, 17, 30, tzinfo=UTC), "negative")
    # 15:59 UTC on 1 March is 23:59 on 1 March in Shanghai.
    add_mention(session, "b", datetime(2026, 3, 1, 15, 59, tzinfo=UTC))
    add_mention(session, "c", datetime(2026, 2, 20, tzinfo=UTC))  # outside 3 days
    session.commit()

    s = dashboard.summary(session=session, days=3, now=now)
    assert [(p.date, p.mentions, p.negative) for p in s.trend] == [
        (date(2026, 2, 28), 0, 0), (date(2026, 3, 1), 1, 0), (date(2026, 3, 2), 1, 1)]
    assert s.counts.mentions_today == 1
    assert s.counts.mentions_total == 3


def test_it_counts_overdue_open_tickets(session: Session, make_event_row: int) -> None:
    past = datetime(2026, 1, 1, tzinfo=UTC)
    session.add(Ticket(event_id=make_event_row, state="handling", response_due_at=past,
                       close_due_at=datetime(2026, 12, 1, tzinfo=UTC)))
    session.commit()
    s = dashboard.summary(session=session, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert s.counts.overdue_tickets == 1
    assert s.counts.open_tickets == 1
    assert {c.state: c.count for c in s.tickets_by_state}["handling"] == 1


def test_it_refuses_a_window_out_of_range(session: Session) -> None:
    with pytest.raises(InvalidInput):
        dashboard.summary(session=session, days=0)


@pytest.fixture
def make_event_row(session: Session) -> int:
    from core.events.models import Event

    event = Event(title="t")
    session.add(event)
    session.commit()
    assert event.id is not None
    return event.id
