from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from core.alerts import service as alerts
from core.alerts.models import Alert
from core.events.models import Event
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from core.processing import service as processing
from core.tickets.models import Ticket
from tests.core.factories import make_unit

FIRE = ("站前街道永安小区楼道电动车充电起火，浓烟冒到六楼，好几户被困，楼下几十个居民聚集，"
        "要求物业和街道马上清理楼道、安装充电桩[怒]")


def _store(session: Session, external_id: str, text: str, **extra: int) -> int:
    result = mentions.ingest(session=session, mention_in=MentionCreate(
        external_id=external_id, channel="weibo", title="", text=text, **extra))
    session.commit()
    assert result.mention.id is not None
    return result.mention.id


def test_it_processes_a_mention_only_once(session: Session) -> None:
    mention_id = _store(session, "w1", FIRE)
    first = processing.process_mention(session=session, mention_id=mention_id)
    session.commit()
    second = processing.process_mention(session=session, mention_id=mention_id)
    session.commit()
    assert first.processed and not second.processed
    assert session.exec(select(func.count()).select_from(Event)).one() == 1
    mention = session.get(Mention, mention_id)
    assert mention is not None and mention.analyzed_at is not None and mention.simhash


def test_a_repost_storm_collapses_into_one_event_with_one_alert_row_that_rises(session: Session) -> None:
    ids = [_store(session, f"w{i}", f"转发微博 {FIRE}" if i else FIRE, reposts=i * 10) for i in range(6)]
    for mention_id in ids:
        processing.process_mention(session=session, mention_id=mention_id)
        session.commit()
    events = session.exec(select(Event)).all()
    assert len(events) == 1
    event = events[0]
    assert event.mention_count == 6 and event.engagement == sum(i * 10 for i in range(6))
    # The storm grows (150 interactions within 2 h, people trapped: at least II from the first
    # post) up to I; the duty officer's inbox keeps one row per event, raised in place.
    assert event.grade == "I" and "被困" in event.grade_reason
    levels = [a.level for a in session.exec(select(Alert).where(Alert.event_id == event.id)
                                             .order_by(Alert.id))]  # type: ignore[arg-type]
    assert levels == ["I"]


def test_an_unrelated_post_becomes_its_own_event(session: Session) -> None:
    fire = _store(session, "w1", FIRE)
    other = _store(session, "w2", "周末去哪儿：新开的书店咖啡馆打卡攻略，环境安静适合看书，欢迎带孩子一起去逛逛。")
    a = processing.process_mention(session=session, mention_id=fire)
    b = processing.process_mention(session=session, mention_id=other)
    session.commit()
    assert a.event_id != b.event_id


def test_a_serious_grade_opens_a_ticket_for_the_unit_that_owns_the_topic(session: Session) -> None:
    make_unit(session, name="站前街道安全生产办", topics="safety")
    session.commit()
    ids = [_store(session, f"w{i}", FIRE + "，已有人员伤亡" + "！" * i, reposts=5000, comments=3000)
           for i in range(3)]
    for mention_id in ids:
        processing.process_mention(session=session, mention_id=mention_id)
        session.commit()
    event = session.exec(select(Event)).one()
    assert event.grade == "I", event.grade_reason  # 8000 interactions, casualties, people trapped
    ticket = session.exec(select(Ticket)).one()
    assert (ticket.event_id, ticket.state, ticket.grade) == (event.id, "assigned", event.grade)
    assert ticket.unit_id is not None and ticket.response_due_at is not None


def test_a_single_fire_report_with_people_trapped_is_at_least_grade_ii(session: Session) -> None:
    # 国办发〔2016〕61号: people trapped and a gathering make it 重大 whatever the volume.
    result = processing.process_mention(session=session, mention_id=_store(session, "w1", FIRE))
    session.commit()
    assert result.grade in ("I", "II") and len(result.alert_ids) == 1


def test_the_outbox_holds_stored_but_unprocessed_mentions(session: Session) -> None:
    mention_id = _store(session, "w1", FIRE)
    assert mentions.get_pending_ids(session=session, older_than=timedelta(0)) == [mention_id]
    # Within the grace period a mention is left to its own queue message.
    assert mentions.get_pending_ids(session=session, older_than=timedelta(minutes=5)) == []
    processing.process_mention(session=session, mention_id=mention_id)
    session.commit()
    assert mentions.get_pending_ids(session=session, older_than=timedelta(0)) == []


def test_a_sweep_processes_what_a_lost_message_left_behind(session: Session) -> None:
    from worker.tasks import sweep_outbox

    mention_id = _store(session, "w1", FIRE)
    mention = session.get(Mention, mention_id)
    assert mention is not None
    mention.created_at = mention.created_at - timedelta(hours=1)  # its queue message was lost long ago
    session.add(mention)
    session.commit()
    assert sweep_outbox() == 1  # embedded mode: processed right away
    session.expire_all()
    assert session.get(Mention, mention_id).analyzed_at is not None  # type: ignore[union-attr]
    assert sweep_outbox() == 0


def test_acknowledging_twice_is_a_conflict(session: Session) -> None:
    import pytest

    from core.errors import Conflict

    # A matter below the auto-ticket grades: its alert stays open for the duty officer.
    mention_id = _store(session, "w1", "站前街道永安小区3号楼楼道电动车充电引发火灾，浓烟很大，物业不管。")
    result = processing.process_mention(session=session, mention_id=mention_id)
    session.commit()
    assert result.alert_ids and result.ticket_id is None
    alerts.acknowledge(session=session, alert_id=result.alert_ids[0], user_id=None)
    with pytest.raises(Conflict):
        alerts.acknowledge(session=session, alert_id=result.alert_ids[0], user_id=None)


def test_the_same_story_in_other_words_joins_the_same_event(session: Session) -> None:
    first = _store(session, "w1", "站前街道永安小区门口天天乱停车，消防通道被私家车堵死，救护车都进不来，物业不管。")
    second = _store(session, "w2", "永安小区大门口的消防通道又被乱停的私家车堵住了，救护车进不来，站前街道管管吧！")
    elsewhere = _store(session, "w3", "站前街道和平小区垃圾一个星期没人清运，臭气熏天，物业收了钱不干活。")
    a = processing.process_mention(session=session, mention_id=first)
    b = processing.process_mention(session=session, mention_id=second)
    c = processing.process_mention(session=session, mention_id=elsewhere)
    session.commit()
    assert a.event_id == b.event_id
    assert c.event_id != a.event_id


def test_a_mention_the_analysis_chokes_on_is_kept_with_its_error_and_stops_being_resent(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.analysis
    from worker.tasks import process_mention, sweep_outbox

    mention_id = _store(session, "w1", FIRE)
    mention = session.get(Mention, mention_id)
    assert mention is not None
    mention.created_at = mention.created_at - timedelta(hours=1)
    session.add(mention)
    session.commit()

    def broken(*args: object, **kwargs: object) -> object:  # fault injection: analysis raises
        raise ValueError("无法解析的文本")

    monkeypatch.setattr(core.analysis, "analyze", broken)
    out = process_mention(mention_id)  # embedded mode: runs here
    assert out["processed"] is False and "无法解析的文本" in out["error"]
    for _ in range(10):
        sweep_outbox()
    session.expire_all()
    mention = session.get(Mention, mention_id)
    assert mention is not None and mention.analyzed_at is None  # kept, not lost
    assert mention.process_attempts == mentions.MAX_PROCESS_ATTEMPTS  # and no longer re-sent
    assert "ValueError" in mention.process_error
    assert sweep_outbox() == 0
    monkeypatch.undo()
    assert process_mention(mention_id)["processed"] is False  # a stray re-delivery is refused
    # Once the cause is fixed, a person sending it again has it processed normally.
    assert process_mention(mention_id, force=True)["processed"] is True


def test_velocity_counts_only_the_last_two_hours(session: Session) -> None:
    from datetime import timedelta

    from core.timeutil import utcnow

    # 1000 interactions stored 2.5 h ago, 10 more just now: the event is not accelerating.
    event = Event(title="永安小区停车", topic="parking", mention_count=2, engagement=1010, negative_count=2,
                  relevant=True, max_risk=0.5, channels=["weibo"])
    session.add(event)
    session.flush()
    for n, (reposts, age) in enumerate(((1000, timedelta(hours=2, minutes=30)), (10, timedelta(0)))):
        session.add(Mention(channel="weibo", external_id=f"v{n}", text="永安小区门口乱停车", event_id=event.id,
                            reposts=reposts, created_at=utcnow() - age))
    session.flush()
    processing.grade_event(session=session, event=event)
    # Not "2小时内新增转评赞1010": the old interactions are not counted as new.
    assert (event.grade, event.grade_reason) == ("III", "转评赞累计1010，负面占比100%")
