"""媒体介入 means news outlets and verified media accounts, not any WeChat account."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session

from core.events import service as events
from core.mentions.models import Mention
from core.sources import service as sources
from core.sources.models import Source, SourceCreate

_seq = iter(range(10**6))


def _event_with(session: Session, *mentions: tuple[Source | None, str, str]) -> int:
    event_id: int | None = None
    for source, channel, raw in mentions:
        m = Mention(channel=channel, external_id=f"m{next(_seq)}", text="站前小区业主聚集", raw=raw,
                    source_id=source.id if source else None)
        session.add(m)
        session.flush()
        if event_id is None:
            event_id = events.create_from_mention(session=session, mention=m).id
        m.event_id = event_id
        session.add(m)
    session.flush()
    assert event_id is not None
    return event_id


def _source(session: Session, name: str, kind: str, channel: str, publisher_kind: str) -> Source:
    return sources.create(session=session, source_in=SourceCreate(
        name=name, kind=kind, channel=channel, url=f"https://example.org/{name}", publisher_kind=publisher_kind))


def test_a_residents_wechat_account_is_not_media(session: Session) -> None:
    owners = _source(session, "owners", "wechat", "wechat", "resident")
    unknown_wechat = _source(session, "some-account", "wechat", "wechat", "unknown")
    event_id = _event_with(session, (owners, "wechat", ""), (unknown_wechat, "wechat", ""), (None, "forum", ""))
    assert sources.media_involved(session=session, event_id=event_id) is False


def test_an_official_site_is_not_media_but_a_news_outlet_is(session: Session) -> None:
    gov = _source(session, "gov", "news", "news", "official")
    event_id = _event_with(session, (gov, "news", ""))
    assert sources.media_involved(session=session, event_id=event_id) is False
    paper = _source(session, "paper", "news", "news", "unknown")  # a news site not marked otherwise
    event2 = _event_with(session, (paper, "news", ""))
    assert sources.media_involved(session=session, event_id=event2) is True
    media_wechat = _source(session, "tv-wechat", "wechat", "wechat", "media")
    event3 = _event_with(session, (media_wechat, "wechat", ""))
    assert sources.media_involved(session=session, event_id=event3) is True


def test_a_weibo_post_by_a_verified_media_account_is_media(session: Session) -> None:
    search = _source(session, "weibo-search", "weibo", "weibo", "unknown")
    resident = json.dumps({"id": "1", "user": {"screen_name": "居民", "verified": False, "verified_type": -1}},
                          ensure_ascii=False)
    paper = json.dumps({"id": "2", "user": {"screen_name": "抚顺日报", "verified": True, "verified_type": 3}},
                       ensure_ascii=False)
    event_id = _event_with(session, (search, "weibo", resident))
    assert sources.media_involved(session=session, event_id=event_id) is False
    event2 = _event_with(session, (search, "weibo", resident), (search, "weibo", paper))
    assert sources.media_involved(session=session, event_id=event2) is True


def test_the_publisher_kind_is_a_closed_set() -> None:
    with pytest.raises(ValueError):
        SourceCreate(name="x", url="https://example.org", publisher_kind="blogger")


def test_the_stored_flag_follows_an_edit_of_the_sources_publisher_kind(session: Session) -> None:
    """An admin who marks a news site as the residents' own (or a WeChat account as a TV station's)
    changes what the events it reported count as: the stored flag the grading reads follows."""
    from core.events.models import Event
    from core.sources.models import SourceUpdate

    site = _source(session, "街道动态", "news", "news", "unknown")
    tv = _source(session, "tv", "wechat", "wechat", "unknown")
    other_media = _source(session, "paper", "news", "news", "media")
    only_site = _event_with(session, (site, "news", ""))
    both = _event_with(session, (site, "news", ""), (other_media, "news", ""))
    only_tv = _event_with(session, (tv, "wechat", ""))
    for event_id, flag in ((only_site, True), (both, True), (only_tv, False)):
        session.get_one(Event, event_id).media_involved = flag
    session.flush()

    def flags() -> tuple[bool, bool, bool]:
        session.expire_all()
        return tuple(session.get_one(Event, i).media_involved for i in (only_site, both, only_tv))  # type: ignore[return-value]

    sources.update(session=session, source=site, source_in=SourceUpdate(publisher_kind="resident"))
    session.flush()
    assert flags() == (False, True, False)  # the other event still has a newspaper
    sources.update(session=session, source=tv, source_in=SourceUpdate(publisher_kind="media"))
    session.flush()
    assert flags() == (False, True, True)
    sources.update(session=session, source=site, source_in=SourceUpdate(name="街道动态（官网）"))
    session.flush()
    assert flags() == (False, True, True)  # other edits leave the flags alone
