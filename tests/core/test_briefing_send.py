"""The beat's briefings: each finished period once, however often and by however many beats it is asked."""

from datetime import datetime

import pytest
import time_machine
from sqlmodel import Session, col, select

from core.notify.models import Notification, NotificationChannel
from core.reports import briefing_send
from core.timeutil import SHANGHAI
from tests.core.factories import make_event

# Monday 2026-03-02: yesterday ended a day, a week (02-23..03-01) and a month (February).
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def test_each_finished_period_is_sent_once_from_the_hour_on(session: Session) -> None:
    session.add(NotificationChannel(name="领导群", kind="webhook", url="http://127.0.0.1:9/hook"))
    make_event(session, title="站前小区暖气不热", topic="heating", at=datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI))
    session.flush()
    with time_machine.travel(MONDAY.replace(hour=7), tick=False):
        assert briefing_send.send(session=session) == []  # not before 08:00
    with time_machine.travel(MONDAY, tick=False):
        rows = briefing_send.send(session=session)
        assert sorted(r.dedupe_key.rsplit(":", 1)[0] for r in rows) == [
            "briefing:daily:2026-03-01", "briefing:monthly:2026-02-01", "briefing:weekly:2026-02-23"]
        daily = next(r for r in rows if "daily" in r.dedupe_key)
        assert daily.subject.startswith("【舆情日报（2026年03月01日）】")
        assert "新发现事件（件）：1" in daily.body and "站前小区暖气不热" in daily.body
        assert "/reports?briefing=daily&date=2026-03-01" in daily.link
        assert briefing_send.send(session=session) == []  # asked again: nothing new
    session.commit()
    # A second beat process, later the same day, with its own session.
    with Session(session.get_bind()) as other, time_machine.travel(MONDAY.replace(hour=15), tick=False):
        assert briefing_send.send(session=other) == []
    # Tuesday: only the new day.
    with time_machine.travel(MONDAY.replace(day=3), tick=False):
        assert [r.dedupe_key.rsplit(":", 1)[0] for r in briefing_send.send(session=session)] == [
            "briefing:daily:2026-03-02"]
    keys = session.exec(select(Notification.dedupe_key).order_by(col(Notification.id))).all()
    assert len(keys) == len(set(keys)) == 4


def test_a_sent_file_is_dropped_a_month_after_its_link_expired(session: Session) -> None:
    from datetime import timedelta

    from core.reports.models import BriefingDocument

    with time_machine.travel(MONDAY, tick=False):
        briefing_send.send(session=session)
    session.commit()
    sent = session.exec(select(BriefingDocument)).all()
    assert len(sent) == 3 and all(d.content.startswith(b"PK") for d in sent)
    expiry = max(d.expires_at for d in sent)
    with time_machine.travel(expiry + briefing_send.KEEP_AFTER_EXPIRY - timedelta(minutes=1), tick=False):
        briefing_send.send(session=session)
    session.commit()
    for doc in sent:
        session.refresh(doc)
    assert all(d.content for d in sent)  # not yet
    with time_machine.travel(expiry + briefing_send.KEEP_AFTER_EXPIRY + timedelta(minutes=1), tick=False):
        briefing_send.send(session=session)
    session.commit()
    for doc in sent:
        session.refresh(doc)
    assert [d.content for d in sent] == [b""] * 3
    assert len(session.exec(select(BriefingDocument)).all()) > 3  # the later periods were sent meanwhile


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # only PostgreSQL runs several beats
def test_two_beats_at_the_same_moment_send_each_period_once(session: Session) -> None:
    """Beat B starts while beat A's transaction is still open: B waits on A before rendering anything,
    and when A commits B finds the period sent and queues nothing."""
    import threading
    import time

    import sqlalchemy as sa

    from core.reports.models import BriefingDocument

    bind = session.get_bind()
    session.add(NotificationChannel(name="领导群", kind="webhook", url="http://127.0.0.1:9/hook"))
    make_event(session, title="站前小区暖气不热", topic="heating", at=datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI))
    session.commit()
    got_b: list[list[Notification]] = []
    with time_machine.travel(MONDAY, tick=False):
        a = Session(bind)
        thread = None
        try:
            rows_a = briefing_send.send(session=a)  # A's rows are written, not yet committed

            def beat_b() -> None:
                with Session(bind) as b:
                    got_b.append(briefing_send.send(session=b))
                    b.commit()

            thread = threading.Thread(target=beat_b, daemon=True)
            thread.start()
            with bind.connect() as watch:  # until B waits on A (bounded; B must not finish first)
                deadline = time.monotonic() + 120
                while not watch.execute(sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()")).scalar():
                    assert thread.is_alive(), "beat B finished without waiting on beat A"
                    assert time.monotonic() < deadline, "beat B never waited on beat A"
                    time.sleep(0.05)
                watch.rollback()
            assert not got_b  # B is still waiting: it has not rendered or queued anything
            a.commit()
        finally:  # whatever failed, end A so that B (and the database's teardown) are not left waiting
            a.close()
            if thread is not None:
                thread.join(timeout=60)
    assert len(rows_a) == 3 and got_b == [[]]
    assert len(session.exec(select(BriefingDocument)).all()) == 3
    assert len(session.exec(select(Notification)).all()) == 3


def test_the_notice_names_grades_as_offices_write_them_and_keeps_titles_inert() -> None:
    from datetime import date

    data = {"office": "站前街道办事处", "period": "daily", "period_label": "日报", "since": date(2026, 3, 1),
            "until": date(2026, 3, 1), "figures": [], "overdue": [], "silent_sources": [], "opinion": "",
            "top_events": [{"title": "未定级的事", "grade": None, "ticket_state_label": ""},
                           {"title": "[点我](http://evil.example)", "grade": "II", "ticket_state_label": "处置中"}]}
    _, body, _ = briefing_send.compose(data, "http://127.0.0.1:8000/api/reports/briefing/documents/1/file?token=t")
    assert "未定级的事（未分级，未开单）" in body and "（II级（重大），处置中）" in body
    assert "](http" not in body and "http://evil" not in body
    assert "下载 Word 报告（链接 7 天内有效）：http://127.0.0.1:8000/api/reports/briefing/documents/1/file" in body
