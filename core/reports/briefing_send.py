"""Send the finished period's briefing to the notification channels, once per period.

The beat asks every few minutes; from `briefing_hour` (Beijing time) on, the last COMPLETED day,
week (Monday-Sunday) and month are each queued once: the outbox's unique key
`briefing:<period>:<first day>` makes a second beat process, a restart or a retry a no-op.
WeCom/DingTalk get the figures and a link to the 报表 page; e-mail gets the same text.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from sqlmodel import Session

from core.config import get_settings
from core.duty import service as duty
from core.notify import service as notify
from core.notify.models import Notification
from core.reports import briefing
from core.timeutil import ensure_utc, to_local, utcnow


def last_completed(period: str, today: date) -> date:
    """A day inside the last period of this kind that has fully ended before `today`."""
    first, _ = briefing.period_days(period, today)
    return first - timedelta(days=1)


def compose(data: dict[str, object]) -> tuple[str, str, str]:
    """Subject, body and link of a briefing notice."""
    b = data
    subject = f"【{briefing.title_of(b)}】{b['office']}"
    lines = [subject]
    for f in b["figures"]:  # type: ignore[attr-defined]
        change = f"{f['change']:+d}" if f["change"] else "持平"
        lines.append(f"{f['label']}：{f['value']}（较上期{change}）")
    tops = b["top_events"][:3]  # type: ignore[index]
    if tops:
        lines.append("重点舆情：" + "；".join(
            f"{e['title']}（{e['grade'] or '未分级'}级，{e['ticket_state_label'] or '未开单'}）" for e in tops))
    lines.append(f"超期事项 {len(b['overdue'])} 件；监测源异常 {len(b['silent_sources'])} 个。")  # type: ignore[arg-type]
    query = urlencode({"briefing": b["period"], "date": str(b["since"])})
    link = f"{get_settings().public_url.rstrip('/')}/reports?{query}"
    lines.append(f"完整报告（含图表，可填写研判意见后导出 Word）：{link}")
    return subject, "\n".join(lines), link


def send(*, session: Session, now: datetime | None = None) -> list[Notification]:
    """Queue each configured period's last finished briefing once (nothing before the hour)."""
    settings = get_settings()
    now = ensure_utc(now) if now else utcnow()
    local = to_local(now)
    if local.hour < settings.briefing_hour:
        return []
    queued: list[Notification] = []
    for period in settings.briefing_periods:
        day = last_completed(period, local.date())
        data = briefing.briefing(session=session, period=period, day=day, now=now)
        subject, body, link = compose(data)
        people = duty.recipients(session=session, audience="duty", at=now)
        queued += notify.enqueue(session=session, now=now, notice=notify.Notice(
            key=f"briefing:{period}:{data['since']}", subject=subject, body=body, audience="duty",
            recipients=people, link=link))
    return queued
