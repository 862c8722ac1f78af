"""Monitoring sources and their health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.errors import Conflict, InvalidInput
from core.redact import redact_mapping, redact_url
from core.sources import health as source_health
from core.sources.models import Source, SourceCreate, SourceCredentials, SourceUpdate

KINDS = ("feed", "weibo", "wechat", "forum", "board", "news")


def get(*, session: Session, source_id: int) -> Source | None:
    """Return a source by id."""
    return session.get(Source, source_id)


def get_by_name(*, session: Session, name: str) -> Source | None:
    """Return a source by its unique name."""
    return session.exec(select(Source).where(Source.name == name)).first()


def get_all(*, session: Session, enabled_only: bool = False, kind: str | None = None) -> list[Source]:
    """Return sources, optionally only enabled ones or one kind."""
    stmt = select(Source).order_by(col(Source.id))
    if enabled_only:
        stmt = stmt.where(Source.enabled == True)  # noqa: E712
    if kind:
        stmt = stmt.where(Source.kind == kind)
    return list(session.exec(stmt))


def create(*, session: Session, source_in: SourceCreate) -> Source:
    """Create a source with a new name."""
    if get_by_name(session=session, name=source_in.name):
        raise Conflict(f"监测源已存在: {source_in.name}")
    if source_in.kind not in KINDS:
        raise InvalidInput(f"不支持的监测源类型：{source_in.kind}（可选 {'、'.join(KINDS)}）")
    source = Source.model_validate(source_in)
    if source.channel == "news" and source.kind in ("weibo", "wechat", "forum", "board"):
        source.channel = source.kind  # the field's default is news; these kinds say otherwise
    session.add(source)
    session.flush()
    return source


def get_or_create(*, session: Session, source_in: SourceCreate) -> Source:
    """Return the source with this name, creating it if needed (url and kind refreshed)."""
    source = get_by_name(session=session, name=source_in.name)
    if source is None:
        return create(session=session, source_in=source_in)
    source.url, source.kind, source.channel = source_in.url, source_in.kind, source_in.channel
    session.add(source)
    return source


def update(*, session: Session, source: Source, source_in: SourceUpdate) -> Source:
    """Change the given fields; a changed URL or params starts incremental fetching afresh."""
    data = source_in.model_dump(exclude_unset=True)
    if data.get("url") is not None and data["url"] != source.url and data["url"] == redact_url(source.url):
        del data["url"]  # the masked URL a form was shown, sent back: keep the stored one
    if isinstance(data.get("params"), dict):
        shown = redact_mapping(source.params)
        data["params"] = {k: source.params[k] if k in source.params and v == shown.get(k) and v != source.params[k]
                          else v for k, v in data["params"].items()}
    if ("url" in data and data["url"] != source.url) or ("params" in data and data["params"] != source.params):
        source.cursor = {}
    kind_changed = data.get("publisher_kind") not in (None, source.publisher_kind)
    for key, value in data.items():
        if value is not None:
            setattr(source, key, value)
    if data.get("enabled"):
        source.circuit_open_until = None  # an admin re-enabling a source wants it tried
    session.add(source)
    if kind_changed:
        session.flush()
        refresh_media_involved(session=session, source_id=source.id)
    return source


def refresh_media_involved(*, session: Session, source_id: int | None) -> int:
    """Recompute the stored 媒体介入 flag of every event this source's mentions belong to (after its
    publisher kind changed); one statement. A grade already given is not lowered (grades only rise)."""
    from core.events.models import Event
    from core.mentions.models import Mention

    events_of_source = (sa.select(col(Mention.event_id)).where(col(Mention.source_id) == source_id,
                                                               col(Mention.event_id).is_not(None)))
    reported = (sa.select(sa.literal(1)).select_from(Mention)
                .outerjoin(Source, col(Source.id) == col(Mention.source_id))
                .where(col(Mention.event_id) == col(Event.id), _media_condition()).exists())
    result = session.execute(sa.update(Event).where(col(Event.id).in_(events_of_source))
                             .values(media_involved=reported).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def set_credentials(*, session: Session, source: Source, credentials: SourceCredentials | None) -> Source:
    """Store (or clear) a source's cookies/tokens; the breaker closes so the next crawl tries them."""
    data: dict[str, Any] = {}
    if credentials is not None:
        data = {k: v for k, v in credentials.model_dump().items() if v}
    source.credentials = data
    source.circuit_open_until = None
    session.add(source)
    return source


def record_success(*, session: Session, source: Source, new_items: int,
                   now: datetime | None = None) -> None:
    """Mark a fetch that worked; keep the time of the last new item for silence detection."""
    source_health.record_success(session=session, source=source, new_items=new_items, now=now)


def record_failure(*, session: Session, source: Source, health: str, error: str,
                   now: datetime | None = None) -> Alert | None:
    """Mark a failed fetch with what happened (error, login_expired, blocked ...)."""
    return source_health.record_failure(session=session, source=source, health=health, error=error,
                                        now=now)


# m.weibo.cn / weibo.com user.verified_type of 媒体 (news outlets' verified accounts)
WEIBO_MEDIA_VERIFIED_TYPE = 3


def _media_condition() -> Any:
    """A mention (joined with its source) that shows news media reporting: see media_involved."""
    from core.mentions.models import Mention

    kind = sa.func.coalesce(Source.publisher_kind, "unknown")
    news_site = sa.and_(col(Mention.channel) == "news", kind.in_(("unknown", "media")))
    weibo_media = sa.and_(
        col(Mention.channel) == "weibo",
        sa.or_(*(col(Mention.raw).contains(f'"verified_type"{sep}{WEIBO_MEDIA_VERIFIED_TYPE}{end}')
                 for sep in (": ", ":") for end in (",", "}"))),
    )
    return sa.or_(kind == "media", news_site, weibo_media)


def media_involved(*, session: Session, event_id: int) -> bool:
    """Whether news media report the event: a mention from a source marked media, from a news
    site not marked official/resident, or by a Weibo account verified as media. A residents'
    WeChat account or forum is not media."""
    from core.mentions.models import Mention

    stmt = (
        sa.select(sa.literal(1))
        .select_from(Mention)
        .outerjoin(Source, col(Source.id) == col(Mention.source_id))
        .where(col(Mention.event_id) == event_id, _media_condition())
        .limit(1)
    )
    return session.execute(stmt).first() is not None


def media_mention_ids(*, session: Session, mention_ids: list[int]) -> set[int]:
    """Those of the mentions that show media reporting (one statement for a whole batch)."""
    from core.mentions.models import Mention

    if not mention_ids:
        return set()
    stmt = (sa.select(col(Mention.id)).select_from(Mention)
            .outerjoin(Source, col(Source.id) == col(Mention.source_id))
            .where(col(Mention.id).in_(mention_ids), _media_condition()))
    return {int(i) for i in session.execute(stmt).scalars()}
