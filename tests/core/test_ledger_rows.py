"""The ledger's figures about an event's posts, summed by the database: first post, 关注量, 跟帖数, 情感倾向."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from core.ledger import service as ledger
from core.mentions import service as mentions
from core.mentions.models import MentionCreate
from core.sources.models import Source
from core.tickets import service as tickets
from core.timeutil import SHANGHAI
from tests.core.factories import make_event

OPENED = datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI)


def post(session: Session, event_id: int, ext: str, *, at: datetime | None, sentiment: str = "",
         channel: str = "weibo", source_id: int | None = None, text: str = "", views: int = 0,
         likes: int = 0, reposts: int = 0, comments: int = 0) -> None:
    m = mentions.ingest(session=session, mention_in=MentionCreate(
        channel=channel, external_id=ext, url=f"https://weibo.example/{ext}", title=ext, text=text or ext,
        published_at=at, source_id=source_id, views=views, likes=likes, reposts=reposts,
        comments=comments)).mention
    m.event_id, m.sentiment = event_id, sentiment
    session.add(m)
    session.flush()


def opened(session: Session, title: str) -> tuple[int, int]:
    event = make_event(session, title=title, at=OPENED - timedelta(days=1))
    assert event.id is not None
    ticket, _ = tickets.open_from_event(session=session, event_id=event.id, actor_id=None, opened_at=OPENED)
    assert ticket.id is not None
    return event.id, ticket.id


def test_the_first_post_is_the_oldest_dated_one_and_the_figures_sum_every_post(session: Session) -> None:
    source = Source(name="站前论坛", url="https://bbs.example/", channel="forum")
    session.add(source)
    session.flush()
    event_id, ticket_id = opened(session, "乱停车")
    # Stored in another order than published; the undated call comes last however early it was stored.
    post(session, event_id, "call", at=None, channel="hotline", sentiment="neutral", comments=100)
    post(session, event_id, "later", at=OPENED - timedelta(hours=1), sentiment="neutral", views=10, likes=1)
    post(session, event_id, "first", at=OPENED - timedelta(hours=5), sentiment="negative",
         source_id=source.id, text="长" * 250, views=5, reposts=2, comments=3)
    post(session, event_id, "mid", at=OPENED - timedelta(hours=3), sentiment="negative", likes=4)
    session.commit()

    row = next(r for r in ledger.rows(session=session) if r["工单编号"] == ticket_id)
    assert row["发布时间"] == f"{OPENED - timedelta(hours=5):%Y-%m-%d %H:%M}"
    assert (row["发布平台"], row["链接"]) == ("站前论坛", "https://weibo.example/first")
    assert row["原贴摘要"] == "长" * 200
    assert (row["关注量"], row["跟帖数"]) == (10 + 1 + 5 + 2 + 4, 100 + 3)
    assert row["情感倾向"] == "负面"  # two negative, two neutral: the first post's decides the tie


def test_a_tie_goes_to_the_sentiment_of_the_earliest_post_and_empty_ones_do_not_count(session: Session) -> None:
    event_id, ticket_id = opened(session, "暖气不热")
    post(session, event_id, "a", at=OPENED - timedelta(hours=2), sentiment="positive")
    post(session, event_id, "b", at=OPENED - timedelta(hours=4), sentiment="")
    post(session, event_id, "c", at=OPENED - timedelta(hours=3), sentiment="neutral")
    post(session, event_id, "d", at=OPENED - timedelta(hours=1), sentiment="positive")
    post(session, event_id, "e", at=OPENED, sentiment="neutral", channel="wechat")
    session.commit()

    row = next(r for r in ledger.rows(session=session) if r["工单编号"] == ticket_id)
    assert row["情感倾向"] == "中性"  # c (neutral) comes before a (positive); b has none
    assert row["发布平台"] == "微博"  # no source: the channel's name
    assert row["原贴摘要"] == "b"


def test_an_event_without_posts_shows_when_it_was_first_seen(session: Session) -> None:
    _event_id, ticket_id = opened(session, "无帖")
    session.commit()
    row = next(r for r in ledger.rows(session=session) if r["工单编号"] == ticket_id)
    assert row["发布时间"] == f"{OPENED - timedelta(days=1):%Y-%m-%d %H:%M}"
    assert (row["关注量"], row["跟帖数"], row["情感倾向"], row["原贴摘要"], row["发布平台"]) == (0, 0, "", "", "")
