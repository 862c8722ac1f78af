"""core.reports.dashboard: days are cut in Asia/Shanghai, not UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from core.errors import InvalidInput
from core.events.models import Event
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


def test_days_turn_at_local_midnight_and_the_window_ends_are_exact(session: Session) -> None:
    now = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 on 2 March in Shanghai; window 28 Feb - 2 Mar
    add_mention(session, "before", datetime(2026, 2, 27, 15, 59, 59, tzinfo=UTC), "negative")  # 27 Feb 23:59:59
    add_mention(session, "first", datetime(2026, 2, 27, 16, 0, tzinfo=UTC), "negative")  # 28 Feb 00:00
    add_mention(session, "late", datetime(2026, 3, 1, 15, 59, 59, 999000, tzinfo=UTC), "positive")  # 1 Mar
    add_mention(session, "midnight", datetime(2026, 3, 1, 16, 0, tzinfo=UTC), "negative")  # 2 Mar 00:00
    add_mention(session, "tomorrow", datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # 3 Mar: after the window
    session.commit()

    s = dashboard.summary(session=session, days=3, now=now)
    assert [(p.date, p.mentions, p.negative) for p in s.trend] == [
        (date(2026, 2, 28), 1, 1), (date(2026, 3, 1), 1, 0), (date(2026, 3, 2), 1, 1)]
    assert [(c.key, c.count) for c in s.sentiment] == [("negative", 2), ("positive", 1)]
    assert [(c.key, c.count) for c in s.channels] == [("news", 3)]
    assert s.counts.mentions_today == 2  # today from 2 Mar 00:00 local, the future one included
    assert dashboard._trend(session, date(2026, 2, 27), date(2026, 2, 27))[0].mentions == 1


def test_an_undated_call_counts_on_the_day_it_was_stored(session: Session) -> None:
    add_mention(session, "call", None, "negative")
    add_mention(session, "old", datetime(2020, 1, 1, tzinfo=UTC))
    session.commit()

    s = dashboard.summary(session=session, days=2)
    assert [(p.mentions, p.negative) for p in s.trend] == [(0, 0), (1, 1)]
    assert s.counts.mentions_today == 1 and s.counts.mentions_total == 2


def test_places_count_each_active_event_once_most_named_first(session: Session) -> None:
    now = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    seen = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    for places in (["永安社区", "站前社区"], ["永安社区"], ["站前广场"], []):
        session.add(Event(title="事件", first_seen_at=seen, last_seen_at=seen, places=places))
    session.add(Event(title="旧事", first_seen_at=datetime(2025, 1, 1, tzinfo=UTC),
                      last_seen_at=datetime(2025, 1, 2, tzinfo=UTC), places=["永安社区"]))
    session.commit()

    s = dashboard.summary(session=session, days=3, now=now)
    assert [(p.key, p.count) for p in s.places] == [("永安社区", 2), ("站前广场", 1), ("站前社区", 1)]
