"""Send a briefing to the notification channels: the beat's once per period, or one now from the page.

The beat asks every few minutes; from `briefing_hour` (Beijing time) on, the last COMPLETED day,
week (Monday-Sunday) and month are each rendered and queued once: the stored document's unique
key `briefing:<period>:<first day>` (and the outbox's key) make a second beat process, a restart
or a retry a no-op, and a period already sent is not even rendered again (on PostgreSQL a second
beat waits on an advisory lock of the key before rendering, not after).

E-mail channels get the Word file attached; WeCom/DingTalk get the figures and a download link.
The link carries a random token (only its SHA-256 is stored), works without a login until it
expires (`briefing_link_days`), and every download through it is audited. The token is masked
wherever the outbox is shown (NotificationPublic) and in the API's access log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.audit import service as audit
from core.config import get_settings
from core.duty import service as duty
from core.errors import Conflict, NotFound
from core.notify import service as notify
from core.notify import templates
from core.notify.models import Notification
from core.reports import briefing, documents
from core.reports.models import BriefingDocument
from core.timeutil import ensure_utc, to_local, utcnow

AUDIENCE = "duty"
# A sent file is kept this long after its link expired (an e-mail retry needs it until then), then
# dropped: three briefings a day at ~150 kB would otherwise grow the database by ~160 MB a year.
KEEP_AFTER_EXPIRY = timedelta(days=30)
EXPIRED = "下载链接无效或已过期，请登录系统在“报表”页重新生成并下载"


def last_completed(period: str, today: date) -> date:
    """A day inside the last period of this kind that has fully ended before `today`."""
    first, _ = briefing.period_days(period, today)
    return first - timedelta(days=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def page_link(data: dict[str, Any]) -> str:
    """The 报表 page preset to this briefing (needs a login)."""
    query = urlencode({"briefing": data["period"], "date": str(data["since"])})
    return f"{get_settings().public_url.rstrip('/')}/reports?{query}"


def download_link(document: BriefingDocument, token: str) -> str:
    """The Word file without a login, until the document's link expires."""
    return (f"{get_settings().public_url.rstrip('/')}/api/reports/briefing/documents/"
            f"{document.id}/file?token={token}")


def compose(data: dict[str, Any], download: str = "") -> tuple[str, str, str]:
    """Subject, body and (page) link of a briefing notice; titles and the opinion made inert
    (a post's title must not put a link or markup into a robot message)."""
    b = data
    subject = f"【{briefing.title_of(b)}】{b['office']}"
    lines = [subject]
    for f in b["figures"]:
        change = f"{f['change']:+d}" if f["change"] else "持平"
        lines.append(f"{f['label']}：{f['value']}（较上期{change}）")
    tops = b["top_events"][:3]
    if tops:
        lines.append("重点舆情：" + "；".join(
            f"{templates.safe(e['title'])}（{templates.grade_text(e['grade'])}，{e['ticket_state_label'] or '未开单'}）"
            for e in tops))
    lines.append(f"超期事项 {len(b['overdue'])} 件；监测源异常 {len(b['silent_sources'])} 个。")
    if b.get("opinion"):
        lines.append(f"研判意见：{templates.safe(b['opinion'])}")
    link = page_link(b)
    if download:
        days = get_settings().briefing_link_days
        lines.append(f"下载 Word 报告（链接 {days} 天内有效）：{download}")
    lines.append(f"在系统中查看（含图表，可填写研判意见后导出）：{link}")
    return subject, "\n".join(lines), link


def store(*, session: Session, data: dict[str, Any], key: str, actor_id: int | None,
          now: datetime) -> tuple[BriefingDocument, str] | None:
    """Render the Word file and keep it under `key`, with a fresh link token; None when a
    document with this key exists already (another beat process stored it first)."""
    token = secrets.token_urlsafe(32)
    doc = BriefingDocument(
        key=key, period=data["period"], since=data["since"], until=data["until"], opinion=data["opinion"],
        filename=f"yuqing-briefing-{data['period']}-{data['since']}.docx", content=documents.briefing_docx(data),
        token_hash=_token_hash(token), expires_at=now + timedelta(days=get_settings().briefing_link_days),
        created_by=actor_id, created_at=now)
    try:  # a second beat racing on the same period waits for the first and then finds its row
        with session.begin_nested():
            session.add(doc)
    except IntegrityError:
        return None
    assert doc.id is not None
    return doc, token


def _enqueue(session: Session, data: dict[str, Any], doc: BriefingDocument, token: str, *, key: str,
             now: datetime) -> list[Notification]:
    subject, body, link = compose(data, download_link(doc, token))
    people = duty.recipients(session=session, audience=AUDIENCE, at=now)
    return notify.enqueue(session=session, now=now, notice=notify.Notice(
        key=key, subject=subject, body=body, audience=AUDIENCE, recipients=people, link=link,
        document_id=doc.id))


def _serialise(session: Session, key: str) -> None:
    """Make a second beat wait here, before it renders, until the first one's transaction ends
    (then it finds the stored key and skips). On PostgreSQL a transaction-scoped advisory lock on the
    key; SQLite lets one writer at a time anyway, and the unique key stays the guarantee on both."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(key.encode()).digest()
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": int.from_bytes(digest[:8], "big", signed=True)})


def send(*, session: Session, now: datetime | None = None) -> list[Notification]:
    """Queue each configured period's last finished briefing once (nothing before the hour)."""
    settings = get_settings()
    now = ensure_utc(now) if now else utcnow()
    local = to_local(now)
    if local.hour < settings.briefing_hour:
        return []
    prune(session=session, now=now)
    queued: list[Notification] = []
    for period in settings.briefing_periods:
        day = last_completed(period, local.date())
        first, _ = briefing.period_days(period, day)
        key = f"briefing:{period}:{first}"
        _serialise(session, key)
        if session.exec(select(BriefingDocument.id).where(BriefingDocument.key == key)).first() is not None:
            continue  # sent already (by this beat or another): not rendered again
        data = briefing.briefing(session=session, period=period, day=day, now=now)
        stored = store(session=session, data=data, key=key, actor_id=None, now=now)
        if stored is None:
            continue
        doc, token = stored
        assert doc.id is not None
        audit.record(session=session, entity="briefing_document", entity_id=doc.id, action="send",
                     actor_id=None, after={"period": period, "since": first}, note="定时报送")
        queued += _enqueue(session, data, doc, token, key=key, now=now)
    return queued


def prune(*, session: Session, now: datetime) -> int:
    """Drop the files of briefings whose link expired long ago (the row, its key and audit stay)."""
    result = session.execute(sa.update(BriefingDocument).where(
        col(BriefingDocument.expires_at) < now - KEEP_AFTER_EXPIRY, sa.func.length(BriefingDocument.content) > 0)
        .values(content=b""))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def send_now(*, session: Session, period: str, day: date | None, opinion: str, actor_id: int | None,
             now: datetime | None = None) -> tuple[BriefingDocument, list[Notification]]:
    """The duty officer's 立即报送: this briefing with the 研判意见, to the configured channels now."""
    now = ensure_utc(now) if now else utcnow()
    if not notify.matching_channels(session=session, notice=notify.Notice(
            key="", subject="", body="", audience=AUDIENCE)):
        raise Conflict("没有启用的通知渠道接收报告，请管理员先在“通知渠道”中配置")
    data = briefing.briefing(session=session, period=period, day=day, opinion=opinion, now=now)
    key = f"manual:{period}:{data['since']}:{secrets.token_hex(6)}"
    stored = store(session=session, data=data, key=key, actor_id=actor_id, now=now)
    assert stored is not None  # the key is fresh
    doc, token = stored
    assert doc.id is not None
    rows = _enqueue(session, data, doc, token, key=f"briefing-now:{doc.id}", now=now)
    audit.record(session=session, entity="briefing_document", entity_id=doc.id, action="send",
                 actor_id=actor_id, after={"period": period, "since": data["since"], "channels": len(rows)},
                 note="值班员立即报送")
    return doc, rows


def open_by_link(*, session: Session, document_id: int, token: str,
                 now: datetime | None = None) -> BriefingDocument:
    """The document a download link names, if its token is right and it has not expired (audited)."""
    now = ensure_utc(now) if now else utcnow()
    doc = session.get(BriefingDocument, document_id)
    if doc is None or not hmac.compare_digest(doc.token_hash, _token_hash(token)):
        raise NotFound(EXPIRED)
    if ensure_utc(doc.expires_at) <= now:
        raise NotFound(EXPIRED)
    doc.downloads += 1
    session.add(doc)
    audit.record(session=session, entity="briefing_document", entity_id=document_id, action="download",
                 actor_id=None, note="通过报送链接下载（免登录）")
    return doc
