"""Per-day mention counts (`mention_day`) kept in step with the mention rows.

Every change to what a mention counts as (its day, channel, sentiment, whether it has a
published time) is turned into +1/-1 deltas per key and written with one
`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n` in the writer's transaction:

- rows written through the ORM (`ingest`, manual entries, tests) by the session's after_flush
  hook below;
- set-based writes by their callers: `ingest_many` (stored batch) and `process_batch`
  (analysis), which pass the deltas to `bump`.

Keys are written sorted in one statement, so two transactions bumping the same day rows take
their row locks in the same order (they wait for each other, never deadlock) and an increment
is never lost: the database adds to the stored count, nobody reads-modifies-writes.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction

from core.mentions.models import Mention, MentionDay
from core.timeutil import to_local

Key = tuple[date, str, str, bool]  # (local day, channel, sentiment, dated)
TRACKED = ("seen_at", "published_at", "channel", "sentiment")


def key(seen_at: datetime, channel: str | None, sentiment: str | None, published_at: datetime | None) -> Key:
    """The counter a mention adds to: its Asia/Shanghai day of seen_at (published, else stored)."""
    return (to_local(seen_at).date(), channel or "", sentiment or "", published_at is not None)


def key_of(mention: Mention) -> Key:
    seen = mention.seen_at or mention.published_at or mention.created_at
    return key(seen, mention.channel, mention.sentiment, mention.published_at)


def bump(connection: sa.Connection | OrmSession, deltas: Counter[Key] | dict[Key, int]) -> None:
    """Add the deltas to the stored counts, in one statement (keys sorted: one lock order)."""
    rows = [{"day": k[0], "channel": k[1], "sentiment": k[2], "dated": k[3], "n": n}
            for k, n in sorted(deltas.items()) if n]
    if not rows:
        return
    bind = connection.get_bind() if isinstance(connection, OrmSession) else connection
    from sqlalchemy.dialects import postgresql, sqlite

    table = MentionDay.__table__  # type: ignore[attr-defined]
    insert: Any = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(index_elements=["day", "channel", "sentiment", "dated"],
                                      set_={"n": table.c.n + stmt.excluded.n})
    connection.execute(stmt)


def _old_value(state: Any, name: str) -> Any:
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else getattr(state.obj(), name)


def _old_key(mention: Mention) -> Key:
    """The counter the mention added to before this flush's changes (as key_of read then)."""
    state = sa.inspect(mention)
    old = {name: _old_value(state, name) for name in TRACKED}
    return key(old["seen_at"] or old["published_at"] or mention.created_at, old["channel"], old["sentiment"],
               old["published_at"])


@sa.event.listens_for(OrmSession, "after_flush")
def _after_flush(session: OrmSession, _context: UOWTransaction) -> None:
    """Mentions inserted, changed or deleted through the ORM in this flush."""
    deltas: Counter[Key] = Counter()
    for obj in session.new:
        if isinstance(obj, Mention):
            deltas[key_of(obj)] += 1
    for obj in session.dirty:
        if not isinstance(obj, Mention):
            continue
        state = sa.inspect(obj)
        if not any(state.attrs[name].history.has_changes() for name in TRACKED):
            continue
        deltas[_old_key(obj)] -= 1
        deltas[key_of(obj)] += 1
    for obj in session.deleted:
        if isinstance(obj, Mention):
            deltas[_old_key(obj)] -= 1
    if deltas:
        bump(session.connection(), deltas)


def recount(connection: sa.Connection) -> None:
    """Rebuild every count from the mention rows (the migration's back-fill; repairs)."""
    table = MentionDay.__table__  # type: ignore[attr-defined]
    dialect = connection.dialect.name
    connection.execute(table.delete())
    connection.execute(sa.text(BACKFILL_SQL[dialect]))


# Days cut as core.timeutil.local_day_sql does.
BACKFILL_SQL = {
    "postgresql": """
        INSERT INTO mention_day (day, channel, sentiment, dated, n)
        SELECT (coalesce(seen_at, published_at, created_at) AT TIME ZONE 'Asia/Shanghai')::date, channel,
               sentiment, published_at IS NOT NULL, count(*)
        FROM mention GROUP BY 1, 2, 3, 4""",
    "sqlite": """
        INSERT INTO mention_day (day, channel, sentiment, dated, n)
        SELECT date(coalesce(seen_at, published_at, created_at), '+8 hours'), channel, sentiment,
               published_at IS NOT NULL, count(*)
        FROM mention GROUP BY 1, 2, 3, 4""",
}
