"""How long entering one holiday takes with many open tickets (each close deadline recounted).

    python benchmarks/calendar_recompute.py [--tickets 2000] [--database-url URL]

Opens N tickets on 2026-12-28 (a fresh SQLite file unless a URL is given), then enters
2027-01-01 as a holiday and times the upsert with its recount. The LAST line is
`seconds_per_1000_tickets <value>`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ["YUQING_DATABASE_URL"] = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
    os.environ.setdefault("YUQING_VAR_DIR", tmp)

    from sqlmodel import Session

    from core import migrate
    from core.calendar import service as office_calendar
    from core.calendar.models import CalendarDayIn, DayKind
    from core.config import get_settings
    from core.db import get_engine
    from core.events.models import Event
    from core.tickets.models import Ticket
    from core.tickets.service import deadlines_for
    from core.timeutil import SHANGHAI

    migrate.upgrade(get_settings().resolved_database_url)
    opened = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)
    due = deadlines_for("IV", opened)
    with Session(get_engine()) as session:
        events = [Event(title=f"事件{n}", topic="parking", grade="IV", first_seen_at=opened,
                        last_seen_at=opened) for n in range(args.tickets)]
        session.add_all(events)
        session.flush()
        session.add_all([Ticket(event_id=e.id or 0, grade="IV", state="handling", created_at=opened,
                                close_started_at=opened, close_due_at=due.close_due_at,
                                close_due_provisional=True) for e in events])
        session.commit()
        start = time.perf_counter()
        office_calendar.upsert(session=session, day_in=CalendarDayIn(
            date=date(2027, 1, 1), kind=DayKind.holiday, name="元旦"), actor_id=None)
        session.commit()
        seconds = time.perf_counter() - start
    print(f"tickets {args.tickets}  recount {seconds:.2f} s")
    print(f"seconds_per_1000_tickets {seconds / args.tickets * 1000:.3f}")


if __name__ == "__main__":
    main()
