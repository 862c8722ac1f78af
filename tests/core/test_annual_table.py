"""The 回应解读情况 table of the annual report: each row's rule on its edge cases."""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from core.reports import service as reports
from core.tickets import service as tickets
from core.tickets.models import ResponseCreate, Ticket
from core.timeutil import SHANGHAI
from tests.core.factories import make_event, make_unit

JUNE = datetime(2025, 6, 1, 10, 0, tzinfo=SHANGHAI)


def open_ticket(session: Session, *, topic: str = "parking", at: datetime = JUNE,
                assign: bool = True) -> Ticket:
    unit_id = make_unit(session, name=f"单位{topic}{at.isoformat()}").id if assign else None
    event = make_event(session, topic=topic, at=at)
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None,
                                        unit_id=unit_id, opened_at=at)
    return ticket


def respond(session: Session, ticket: Ticket, channel: str, at: datetime, **kw: Any) -> None:
    assert ticket.id is not None
    tickets.record_response(session=session, ticket_id=ticket.id, actor_id=None, response_in=ResponseCreate(
        channel=channel, published_at=at, title=kw.pop("title", f"回应{channel}{at.isoformat()}"), **kw))


def rows(session: Session, year: int) -> dict[str, int]:
    return {row["key"]: row["value"] for row in reports.annual(session=session, year=year)["rows"]}


def test_one_event_answered_on_two_channels_is_one_hotspot_and_one_in_each_channel_row(
        session: Session) -> None:
    ticket = open_ticket(session)
    respond(session, ticket, "weibo", JUNE + timedelta(hours=2))
    respond(session, ticket, "website", JUNE + timedelta(hours=3))
    respond(session, ticket, "wechat", JUNE + timedelta(hours=4))
    session.commit()
    got = rows(session, 2025)
    assert (got["hotspots"], got["weibo_wechat_events"], got["other_events"]) == (1, 1, 1)


def test_a_january_response_to_a_december_matter_counts_in_january_s_year(session: Session) -> None:
    december = datetime(2025, 12, 30, 9, 0, tzinfo=SHANGHAI)
    ticket = open_ticket(session, at=december)
    respond(session, ticket, "weibo", datetime(2026, 1, 1, 0, 30, tzinfo=SHANGHAI))
    session.commit()
    assert rows(session, 2025)["hotspots"] == 0
    assert rows(session, 2026)["hotspots"] == rows(session, 2026)["weibo_wechat_events"] == 1


def test_a_reopened_ticket_answered_again_next_year_counts_once_in_the_first_year(session: Session) -> None:
    december = datetime(2025, 12, 20, 9, 0, tzinfo=SHANGHAI)
    ticket = open_ticket(session, at=december)
    assert ticket.id is not None
    respond(session, ticket, "wechat", december + timedelta(hours=3))
    tickets.transition(session=session, ticket_id=ticket.id, to_state="closed", actor_id=None,
                       at=december + timedelta(days=1))
    tickets.reopen(session=session, ticket_id=ticket.id, actor_id=None, note="群众再次反映",
                   at=datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI))
    respond(session, ticket, "wechat", datetime(2026, 1, 5, 15, 0, tzinfo=SHANGHAI))
    respond(session, ticket, "website", datetime(2026, 1, 6, 15, 0, tzinfo=SHANGHAI))
    session.commit()
    assert ticket.reopened_count == 1
    last, this = rows(session, 2025), rows(session, 2026)
    assert (last["hotspots"], last["weibo_wechat_events"], last["other_events"]) == (1, 1, 0)
    # The website answer is the event's first on that channel, so row 6 counts it in 2026.
    assert (this["hotspots"], this["weibo_wechat_events"], this["other_events"]) == (0, 0, 1)


def test_a_false_alarm_counts_nowhere_until_it_is_reopened_and_answered(session: Session) -> None:
    ticket = open_ticket(session, topic="noise", assign=False)
    assert ticket.id is not None
    tickets.transition(session=session, ticket_id=ticket.id, to_state="dismissed", actor_id=None,
                       note="广告，与辖区无关")
    session.commit()
    figures = reports.annual(session=session, year=2025)
    assert figures["responded_events"] == 0 and figures["topics"] == {}
    tickets.reopen(session=session, ticket_id=ticket.id, actor_id=None, note="核实后确有其事",
                   at=JUNE + timedelta(days=1))
    tickets.assign(session=session, ticket_id=ticket.id, actor_id=None,
                   unit_id=make_unit(session, name="噪声中队").id, at=JUNE + timedelta(days=1))
    respond(session, ticket, "weibo", JUNE + timedelta(days=2))
    session.commit()
    assert rows(session, 2025)["hotspots"] == 1


def test_press_conferences_and_interviews_count_occasions_and_the_leader_lines(session: Session) -> None:
    a, b, c = (open_ticket(session, topic=t) for t in ("parking", "heating", "snow"))
    # One conference answering two matters: recorded on both tickets, one conference.
    for ticket in (a, b):
        respond(session, ticket, "press_conference", JUNE + timedelta(days=3), title="第12场新闻发布会",
                leader_present=True)
    respond(session, c, "briefing", JUNE + timedelta(days=9), title="供暖吹风会")
    respond(session, c, "online_interview", JUNE + timedelta(days=10), title="区长在线访谈",
            leader_present=True)
    respond(session, a, "online_interview", JUNE + timedelta(days=11), title="城管局在线访谈")
    respond(session, b, "policy_doc", JUNE + timedelta(days=12), kind="interpretation",
            url="https://gov.example.cn/jd/1", title="供暖政策解读")
    respond(session, c, "website", JUNE + timedelta(days=12), kind="interpretation",
            url="https://gov.example.cn/jd/1", title="供暖政策解读")  # the same document, linked again
    # A 网络问政 answer is not a 回应舆情.
    d = open_ticket(session, topic="noise")
    respond(session, d, "online_petition", JUNE + timedelta(days=1))
    session.commit()
    got = rows(session, 2025)
    assert got == {"hotspots": 3, "press_conferences": 2, "press_conferences_leader": 1,
                   "online_interviews": 2, "online_interviews_leader": 1, "interpretation_documents": 1,
                   "weibo_wechat_events": 0, "other_events": 0}


def test_the_rows_compare_with_last_year_and_the_paragraph_names_topics_in_chinese(session: Session) -> None:
    respond(session, open_ticket(session, at=JUNE - timedelta(days=365)), "weibo",
            JUNE - timedelta(days=364))
    for topic in ("heating", "heating", "parking"):
        respond(session, open_ticket(session, topic=topic), "wechat", JUNE + timedelta(hours=1))
    session.commit()
    figures = reports.annual(session=session, year=2025)
    row = next(r for r in figures["rows"] if r["key"] == "hotspots")
    assert (row["value"], row["previous"], row["change"]) == (3, 1, 2)
    assert [r["label"] for r in figures["rows"] if r["sub"]] == [
        "其中：主要负责同志参加新闻发布会次数", "其中：主要负责同志参加政府网站在线访谈次数"]
    assert "共回应公众关注热点或舆情3次，就供暖、停车管理等问题进行了舆情回应" in figures["text"]
