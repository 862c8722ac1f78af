"""Migration 0007app leaves one live alert per event and none for events that have their ticket."""

from __future__ import annotations

import sqlalchemy as sa

from core import migrate
from core.config import Settings
from core.db import get_engine

EVENT = ("INSERT INTO event (title, topic, status, created_at, updated_at, mention_count, engagement, heat, "
         "negative_count, relevant, max_risk, grade_score, grade_reason, topics, places, sensitive_terms, channels, "
         "story_bigrams) VALUES (:t, 'other', 'open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 0, 0, 0, false, 0, 0, "
         "'', '[]', '[]', '[]', '[]', '[]')")
ALERT = ("INSERT INTO alert (kind, event_id, level, reason, dedupe_key, status, created_at, dismiss_reason, "
         "notify_step) VALUES ('event', :e, :g, 'r', :k, 'open', CURRENT_TIMESTAMP, '', 0)")


def test_older_alerts_of_an_event_and_alerts_of_ticketed_events_are_closed(
        app_env: Settings, database_url: str) -> None:
    migrate.downgrade(database_url, "0006")
    engine = get_engine()
    with engine.begin() as conn:
        ids = []
        for title in ("rising", "ticketed"):
            conn.execute(sa.text(EVENT), {"t": title})
            ids.append(conn.execute(sa.text("SELECT max(id) FROM event")).scalar_one())
        rising, ticketed = ids
        for grade in ("IV", "III"):
            conn.execute(sa.text(ALERT), {"e": rising, "g": grade, "k": f"event:{rising}:{grade}"})
        conn.execute(sa.text(ALERT), {"e": ticketed, "g": "IV", "k": f"event:{ticketed}:IV"})
        conn.execute(sa.text("INSERT INTO ticket (event_id, title, note, topic, state, created_at, updated_at, "
                             "online_note, offline_note, dismiss_reason) VALUES (:e, 't', '', 'other', 'assigned', "
                             "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '', '', '')"), {"e": ticketed})
    migrate.upgrade(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, level, status FROM alert ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(rising, "IV", "closed"), (rising, "III", "open"), (ticketed, "IV", "closed")]
