"""Storing mentions once, whatever crawls them how often (the outbox starts here)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.access import OFFICE, Scope
from core.errors import InvalidInput, NotFound
from core.mentions import rollup
from core.mentions.models import Mention, MentionCreate
from core.sanitize import strip_nul, web_url
from core.timeutil import checked_time, utcnow

# Query parameters that only track the reader, never identify the content.
_TRACKING = {"spm", "from", "isappinstalled", "scene", "clicktime", "enterid", "share_token",
             "chksm", "sessionid", "subscene", "ascene", "devicetype", "version", "nettype",
             "lang", "pass_ticket", "wx_header", "fontscale", "exportkey", "ref", "source"}
# Fragments that only say how a page was opened; any other fragment may name one post of many
# on a page (forum floors, blog entries linked as page#anchor) and is kept.
_NOISE_FRAGMENTS = {"", "wechat_redirect", "rd", "top", "comments"}
# WeChat article identity is exactly these parameters.
_WECHAT_KEYS = ("__biz", "mid", "idx", "sn")


def canonical_url(url: str) -> str:
    """Normalize a URL so that share links of one page compare equal."""
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    if scheme == "http" and parts.netloc.lower().endswith(("weixin.qq.com", "weibo.cn", "weibo.com")):
        scheme = "https"
    host = parts.hostname.lower() if parts.hostname else ""
    if parts.port and not ((scheme == "http" and parts.port == 80) or (scheme == "https" and parts.port == 443)):
        host = f"{host}:{parts.port}"
    query = parse_qsl(parts.query, keep_blank_values=False)
    if host == "mp.weixin.qq.com" and parts.path in ("/s", "/s/") and query:
        wanted = {k: v for k, v in query if k in _WECHAT_KEYS}
        query = [(k, wanted[k]) for k in _WECHAT_KEYS if k in wanted]
    else:
        query = sorted((k, v) for k, v in query if k.lower() not in _TRACKING and not k.lower().startswith("utm_"))
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    fragment = "" if parts.fragment.lower() in _NOISE_FRAGMENTS else parts.fragment
    return urlunsplit((scheme, host, path, urlencode(query), fragment))


def url_fingerprint(url: str) -> str | None:
    """SHA-1 of the canonical URL, or None when there is no URL (hotline calls)."""
    canon = canonical_url(url)
    return hashlib.sha1(canon.encode()).hexdigest() if canon else None


def _plausible(published: datetime | None) -> datetime | None:
    """A source's date, unless it is one no clock can use (year 9999 from a broken feed): then unknown."""
    if published is None:
        return None
    try:
        return checked_time(published)
    except ValueError:
        return None


def keyed_external_id(channel: str, user_id: int | None, idempotency_key: str) -> str:
    """The external id of a manual entry sent with a client's idempotency key (scoped to the user)."""
    digest = hashlib.sha256(f"{user_id}:{idempotency_key}".encode()).hexdigest()[:40]
    return f"{channel}-key-{digest}"


@dataclass(frozen=True)
class IngestResult:
    mention: Mention
    created: bool


def ingest(*, session: Session, mention_in: MentionCreate) -> IngestResult:
    """Store a mention unless it is already stored (same source+external id, or same URL).

    Text loses NUL characters and the link anything but http(s): whatever a crawler, an import
    or a person sends, it can be stored on PostgreSQL and shown without running a script.
    """
    mention_in = prepare(mention_in)
    fingerprint = url_fingerprint(mention_in.url)
    existing = _find_existing(session, mention_in.source_id, mention_in.external_id, fingerprint)
    if existing is not None:
        return IngestResult(existing, False)
    data = mention_in.model_dump()
    mention = Mention(
        **data,
        url_fingerprint=fingerprint,
        fetched_at=utcnow(),
        raw_sha256=_raw_sha256(mention_in.raw),
    )
    # A concurrent crawler may insert the same post between our check and insert:
    # the unique constraints decide, inside a savepoint so the caller's transaction survives.
    try:
        with session.begin_nested():
            session.add(mention)
    except IntegrityError:
        existing = _find_existing(session, mention_in.source_id, mention_in.external_id, fingerprint)
        if existing is None:
            raise
        return IngestResult(existing, False)
    return IngestResult(mention, True)


def _raw_sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest() if raw else ""


def _find_existing(session: Session, source_id: int | None, external_id: str,
                   fingerprint: str | None) -> Mention | None:
    cond = sa.and_(col(Mention.source_id) == source_id, col(Mention.external_id) == external_id)
    if source_id is None:
        cond = sa.and_(col(Mention.source_id).is_(None), col(Mention.external_id) == external_id)
    if fingerprint:
        cond = sa.or_(cond, col(Mention.url_fingerprint) == fingerprint)
    return session.exec(select(Mention).where(cond)).first()


def start_attempt(*, session: Session, mention_id: int, force: bool = False) -> bool:
    """Count a processing attempt before it starts; False when analyzed or out of attempts.

    `force` (a person sending it again once the cause is fixed) ignores the attempts used.

    Counted in its own committed transaction, so an attempt that kills its worker process
    (the processing transaction then rolls back) still counts, and a mention that always kills
    the worker is given up after MAX_PROCESS_ATTEMPTS instead of being re-delivered for ever.
    """
    conds = [col(Mention.id) == mention_id, col(Mention.analyzed_at).is_(None)]
    if not force:
        conds.append(col(Mention.process_attempts) < MAX_PROCESS_ATTEMPTS)
    result = session.execute(sa.update(Mention).where(*conds)
                             .values(process_attempts=col(Mention.process_attempts) + 1))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def start_attempts(*, session: Session, mention_ids: list[int], force: bool = False) -> list[int]:
    """`start_attempt` for a batch in one statement; returns the ids that may be processed, sorted.

    Rows are locked in id order, so two deliveries of overlapping batches wait for each other
    instead of deadlocking.
    """
    ids = sorted(set(mention_ids))
    if not ids:
        return []
    conds: list[sa.ColumnElement[bool]] = [col(Mention.id).in_(ids), col(Mention.analyzed_at).is_(None)]
    if not force:
        conds.append(col(Mention.process_attempts) < MAX_PROCESS_ATTEMPTS)
    locked = select(Mention.id).where(*conds).order_by(col(Mention.id)).with_for_update()
    stmt = (sa.update(Mention).where(col(Mention.id).in_(locked), *conds)
            .values(process_attempts=col(Mention.process_attempts) + 1)
            .returning(col(Mention.id)).execution_options(synchronize_session=False))
    return sorted(int(i) for i in session.execute(stmt).scalars())


def record_process_failure(*, session: Session, mention_id: int, error: str) -> None:
    """Keep the error of a failed attempt (counted at its start); the sweep may send it again."""
    session.execute(sa.update(Mention)
                    .where(col(Mention.id) == mention_id, col(Mention.analyzed_at).is_(None))
                    .values(process_error=error[:1000], enqueued_at=None))


def mark_enqueued(*, session: Session, ids: list[int], at: datetime | None = None) -> None:
    """Stamp mentions as sitting in the queue (None: they are not), so the sweep leaves them be."""
    if ids:
        session.execute(sa.update(Mention).where(col(Mention.id).in_(ids))
                        .values(enqueued_at=at))


def relabel(*, session: Session, mention_id: int, topic: str, actor_id: int | None,
            allowed: set[str] | None = None) -> Mention:
    """Record a person's topic for a mention (its analysis stays as it was, for comparison)."""
    from core.analysis_labels import TOPIC_LABELS
    from core.audit import service as audit

    allowed = allowed or set(TOPIC_LABELS)
    if topic not in allowed:
        raise InvalidInput(f"未知的话题分类: {topic}（可选：{'、'.join(sorted(allowed))}）")
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise NotFound(f"信息不存在: {mention_id}")
    before = mention.label_topic or (mention.topics[0] if mention.topics else "")
    mention.label_topic, mention.labelled_by_id, mention.labelled_at = topic, actor_id, utcnow()
    session.add(mention)
    audit.record(session=session, entity="mention", entity_id=mention_id, action="relabel",
                 actor_id=actor_id, before={"topic": before}, after={"topic": topic})
    return mention


def training_corrections(*, session: Session, limit: int = 20000) -> list[tuple[str, str]]:
    """(text, topic) pairs the duty officers taught: re-labels, and 'other' for every mention
    of an event whose alert or ticket they dismissed as a false alarm (误报)."""
    from core.alerts.models import Alert
    from core.tickets.models import Ticket

    def text_of(title: str, text: str) -> str:
        return f"{title}\n{text}".strip()

    pairs: dict[int, tuple[str, str]] = {}
    dismissed = sa.or_(
        col(Mention.event_id).in_(select(Alert.event_id).where(Alert.status == "dismissed")),
        col(Mention.event_id).in_(select(Ticket.event_id).where(Ticket.state == "dismissed")),
    )
    for mention_id, title, text in session.exec(
            select(Mention.id, Mention.title, Mention.text).where(dismissed)
            .order_by(col(Mention.id)).limit(limit)):
        if mention_id is not None:
            pairs[mention_id] = (text_of(title, text), "other")
    for mention_id, title, text, topic in session.exec(
            select(Mention.id, Mention.title, Mention.text, Mention.label_topic)
            .where(Mention.label_topic != "").order_by(col(Mention.id)).limit(limit)):
        if mention_id is not None:
            pairs[mention_id] = (text_of(title, text), topic)  # an explicit re-label wins
    return list(pairs.values())


def get(*, session: Session, mention_id: int) -> Mention | None:
    """Return a mention by id."""
    return session.get(Mention, mention_id)


def get_all(*, session: Session, event_id: int | None = None, limit: int = 100,
            offset: int = 0, scope: Scope = OFFICE) -> list[Mention]:
    """Return the mentions the scope sees, newest first, optionally of one event."""
    stmt = (select(Mention).where(scope.mentions())
            .order_by(col(Mention.id).desc()).offset(offset).limit(limit))
    if event_id is not None:
        stmt = stmt.where(Mention.event_id == event_id)
    return list(session.exec(stmt))


MAX_PROCESS_ATTEMPTS = 5


def get_pending_ids(*, session: Session, older_than: timedelta, lease: timedelta | None = None,
                    limit: int = 500) -> list[int]:
    """Ids of mentions stored but never analyzed (the outbox), older than a grace period.

    A mention queued less than `lease` ago is still waiting in the queue (perhaps behind a
    backlog): sending it again would only double the backlog.
    """
    now = utcnow()
    cutoff: datetime = now - older_than
    stmt = (select(Mention.id).where(col(Mention.analyzed_at).is_(None))
            .where(col(Mention.process_attempts) < MAX_PROCESS_ATTEMPTS)
            .where(Mention.created_at <= cutoff).order_by(col(Mention.id)).limit(limit))
    if lease is not None:
        stmt = stmt.where(sa.or_(col(Mention.enqueued_at).is_(None), col(Mention.enqueued_at) <= now - lease))
    return [i for i in session.exec(stmt) if i is not None]


def prepare(mention_in: MentionCreate) -> MentionCreate:
    """A mention as `ingest` would store it (NUL-free text, http(s) link, usable date), or InvalidInput.

    For callers that check items one by one and store them later in a batch (ingest_many).
    """
    mention_in = mention_in.model_copy(update={
        **{name: strip_nul(getattr(mention_in, name))
           for name in ("external_id", "title", "text", "author", "raw", "contact", "channel")},
        "url": web_url(mention_in.url), "published_at": _plausible(mention_in.published_at)})
    if not mention_in.external_id.strip():
        raise InvalidInput("external_id 不能为空")
    if not (mention_in.text.strip() or mention_in.title.strip()):
        raise InvalidInput("标题和正文不能都为空")
    return mention_in


def _row_defaults() -> dict[str, object]:
    """Every mention column's value for a freshly stored mention, as the model builds it."""
    blank = Mention(external_id="")
    table = Mention.__table__  # type: ignore[attr-defined]
    return {c.name: getattr(blank, c.name) for c in table.columns if c.name != "id"}


def ingest_many(*, session: Session, mentions_in: list[MentionCreate]) -> list[int | None]:
    """Store prepared mentions (see `prepare`) with set-based INSERT ... ON CONFLICT DO NOTHING.

    Returns, per input in order, the new mention's id, or None when it was stored already: by an
    earlier call (same source + external id, or same canonical URL, as `ingest` decides) or by an
    earlier input of this list. The database's unique constraints decide against concurrent
    crawlers, so nothing is stored twice and nothing raises for a duplicate. The caller commits;
    only then may the new ids be announced.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    now = utcnow()
    defaults = _row_defaults()
    keys: list[tuple[int | None, str] | None] = []
    rows: list[dict[str, object]] = []
    seen_keys: set[tuple[int | None, str]] = set()
    seen_fingerprints: set[str] = set()
    for mention_in in mentions_in:
        fingerprint = url_fingerprint(mention_in.url)
        key = (mention_in.source_id, mention_in.external_id)
        if key in seen_keys or (fingerprint and fingerprint in seen_fingerprints):
            keys.append(None)  # the same post twice in one batch: the first one counts
            continue
        seen_keys.add(key)
        if fingerprint:
            seen_fingerprints.add(fingerprint)
        keys.append(key)
        rows.append({
            **defaults, **mention_in.model_dump(), "url_fingerprint": fingerprint, "created_at": now,
            "fetched_at": now, "seen_at": mention_in.published_at or now,  # as the before_insert listener
            "raw_sha256": _raw_sha256(mention_in.raw)})
    if not rows:
        return [None] * len(keys)
    table = Mention.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # One statement, sent as multi-row VALUES pages by SQLAlchemy ("insertmanyvalues"); RETURNING
    # gives only the rows inserted, the others conflicted with a stored mention.
    stmt = (insert(table).on_conflict_do_nothing()
            .returning(table.c.id, table.c.source_id, table.c.external_id, table.c.seen_at, table.c.channel,
                       table.c.sentiment, table.c.published_at))
    new_ids: dict[tuple[int | None, str], int] = {}
    deltas: Counter[rollup.Key] = Counter()
    for mention_id, source_id, external_id, seen_at, channel, sentiment, published_at in session.execute(stmt, rows):
        new_ids[(source_id, external_id)] = mention_id
        deltas[rollup.key(seen_at, channel, sentiment, published_at)] += 1
    rollup.bump(session, deltas)  # the stored ones only: in this transaction
    return [new_ids.get(key) if key is not None else None for key in keys]
