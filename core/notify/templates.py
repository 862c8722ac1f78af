"""Message texts in Chinese, each with a link back to the ticket or alert.

Titles, reasons and names come from scraped posts or from people: they go through `safe()`
before they are placed in a message. One message goes to markdown robots (WeCom, DingTalk),
plain-text e-mail and webhooks alike, so the text is made inert for all of them: one line,
markdown and HTML marks turned into their full-width look-alikes (which read the same in
Chinese text), and URLs defanged, so a post cannot add a clickable link, a heading, a fake
"查看" line or an @ to a notice. Only the links this module writes stay links.
"""

from __future__ import annotations

import re
from datetime import datetime

from core.analysis_labels import GRADE_LABELS, TOPIC_LABELS
from core.config import get_settings
from core.timeutil import to_local

CLOCK_LABELS = {"first_info": "首次权威信息发布", "response": "公开回应", "press": "新闻发布会",
                "close": "办结"}


# Markdown/HTML marks -> full-width forms; they look alike, and no renderer treats them as syntax.
_INERT = str.maketrans({
    "[": "［", "]": "］", "(": "（", ")": "）", "<": "＜", ">": "＞", "*": "＊", "_": "＿", "`": "｀",
    "#": "＃", "!": "！", "~": "～", "|": "｜", "\\": "＼", "{": "｛", "}": "｝", "&": "＆",
    "@": "＠",
})
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


def one_line(text: str) -> str:
    """Line breaks and other control characters as single spaces."""
    return _CONTROL.sub(" ", text).strip()


def safe(text: str | None) -> str:
    """Untrusted text made inert for markdown, HTML and plain text: one line, no marks, no links."""
    out = one_line(text or "").translate(_INERT)
    return re.sub(r"(?i)www\.", "www．", out.replace("://", "：//"))


def header_text(text: str) -> str:
    """A value for an e-mail header: one line (a CR/LF would forge headers or fail the send)."""
    return one_line(text)[:250]


def email_address(value: str) -> str:
    """A plain `user@host` address, or "" for anything that is not one."""
    value = value.strip()
    return value if len(value) <= 254 and _ADDRESS.match(value) else ""


def ticket_link(ticket_id: int) -> str:
    """Where a person opens the ticket."""
    return f"{get_settings().public_url.rstrip('/')}/?ticket={ticket_id}"


def alert_link(alert_id: int) -> str:
    """Where a person opens the alert queue at this alert."""
    return f"{get_settings().public_url.rstrip('/')}/?alert={alert_id}"


def when(value: datetime) -> str:
    """Local time as offices write it."""
    return f"{to_local(value):%Y-%m-%d %H:%M}"


def grade_text(grade: str | None) -> str:
    """"II级（重大）" or "未分级"."""
    return f"{grade}级（{GRADE_LABELS.get(grade, '')}）" if grade else "未分级"


def topic_text(topic: str | None) -> str:
    """The topic's Chinese label."""
    return TOPIC_LABELS.get(topic or "other", topic or "其他")


def names(people: list[str]) -> str:
    """"@张三 @李四"."""
    return " ".join(f"@{safe(n)}" for n in people) or "（无指定人员）"


def alert_notice(*, alert_id: int, grade: str | None, title: str, reason: str, topic: str | None,
                 step: int, audience_label: str, people: list[str], minutes: int) -> tuple[str, str]:
    """Subject and body of an alert notice at step 1 (first), 2.. (re-notify / escalate)."""
    title, reason, audience_label = safe(title), safe(reason), safe(audience_label)
    if step == 1:
        subject = f"【舆情预警】{grade_text(grade)}{title[:40]}"
        lead = f"请{audience_label} {names(people)} 立即签收研判。"
    elif audience_label == "值班人员":
        subject = f"【预警未签收·再次提醒】{title[:40]}"
        lead = f"预警已{minutes}分钟无人签收，请{audience_label} {names(people)} 立即签收。"
    else:
        subject = f"【预警升级】{grade_text(grade)}{title[:40]}"
        lead = f"预警已{minutes}分钟无人签收，现升级至{audience_label} {names(people)} 督办。"
    body = (f"{subject}\n{lead}\n等级：{grade_text(grade)}\n话题：{topic_text(topic)}\n"
            f"研判依据：{reason or '—'}\n预警编号：#{alert_id}\n查看：{alert_link(alert_id)}")
    return subject, body


def ticket_notice(*, ticket_id: int, grade: str | None, title: str, kind: str, unit: str,
                  handler: str, audience_label: str, people: list[str], clock: str = "",
                  due_at: datetime | None = None, minutes: int = 0, level: int = 0) -> tuple[str, str]:
    """Subject and body of a ticket notice: opened, regraded, assigned, warn, escalate."""
    title, unit, handler, audience_label = safe(title), safe(unit), safe(handler), safe(audience_label)
    clock_label = CLOCK_LABELS.get(clock, clock)
    if kind == "opened":
        subject = f"【{grade_text(grade)}舆情工单】{title[:40]}"
        lead = f"已开单，请{audience_label} {names(people)} 知悉并督办。"
    elif kind == "regraded":
        subject = f"【舆情升级·{grade_text(grade)}】{title[:40]}"
        lead = f"事件等级上升，工单已升级，时限重新起算，请{audience_label} {names(people)} 知悉并督办。"
    elif kind == "assigned":
        subject = f"【工单交办】{title[:40]}"
        lead = f"已交办{unit}，请{audience_label} {names(people)} 按时限办理。"
    elif kind == "warn":
        subject = f"【时限提醒】{title[:40]}"
        lead = (f"{clock_label}时限将于{when(due_at) if due_at else ''}到期（剩余约{minutes}分钟），"
                f"请{names(people)} 抓紧办理。")
    else:
        subject = f"【超期督办·第{level}级】{title[:40]}"
        lead = (f"{clock_label}时限已于{when(due_at) if due_at else ''}到期（已超{minutes}分钟），"
                f"现提请{audience_label} {names(people)} 督办。")
    body = (f"{subject}\n{lead}\n等级：{grade_text(grade)}\n责任单位：{unit or '未交办'}\n"
            f"承办人：{handler or '未指定'}\n工单编号：#{ticket_id}\n查看：{ticket_link(ticket_id)}")
    return subject, body


def digest(items: list[tuple[str, str]]) -> tuple[str, str]:
    """One message for the notices that the rate limit held back: (subject, link) each."""
    subject = f"【消息汇总】{len(items)}条通知"
    lines = [f"{subject}（发送频率受限，合并发送）："]
    # Subjects were made safe when their notices were built; one line each all the same.
    lines += [f"{n}. {one_line(s)} {link}".rstrip() for n, (s, link) in enumerate(items, start=1)]
    return subject, "\n".join(lines)
