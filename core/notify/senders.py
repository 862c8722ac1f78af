"""Send one message to one channel.

WeCom and DingTalk robots are posted to with httpx, not apprise: apprise's wecombot:// and
dingtalk:// plugins build the vendor host into the URL (qyapi.weixin.qq.com, oapi.dingtalk.com),
so a configured webhook URL, a proxy host or a local test receiver cannot be used with them.
E-mail goes through the standard library's smtplib, which is all it needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote_plus, unquote, urlsplit

import httpx

from core.config import get_settings
from core.notify import templates
from core.notify.models import Notification, NotificationChannel
from core.redact import guard_loggers, redact_text, url_secrets
from core.timeutil import utcnow

# httpx logs each request's full URL at INFO: a robot key must not reach a log line.
guard_loggers("httpx", "httpcore")


class SendError(Exception):
    """The channel refused or could not be reached; the outbox retries with backoff.

    `uncertain`: the message left and no answer came (a read timeout, a dropped connection), so
    the receiver may have it; the outbox retries such a message only a capped number of times.
    """

    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: HMAC-SHA256 of "timestamp\\nsecret", base64, url-encoded, as query params."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    sign = base64.b64encode(hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()).decode()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={quote_plus(sign)}"


def send(channel: NotificationChannel, message: Notification) -> None:
    """Deliver the message or raise SendError, whose text never carries the channel's secrets
    (it is stored as the notice's last error, logged and shown to the duty officer)."""
    try:
        _send(channel, message)
    except SendError as exc:
        # Keep whether the message may have arrived: it caps the retries (uncertain attempts).
        raise SendError(redact_text(str(exc), channel_secrets(channel)), uncertain=exc.uncertain) from None


def channel_secrets(channel: NotificationChannel) -> list[str]:
    """What must never appear in an error or a log line about this channel."""
    return [channel.secret, *url_secrets(channel.url)]


def _send(channel: NotificationChannel, message: Notification) -> None:
    if channel.kind == "wecom":
        _post_robot(channel.url, _wecom_body(message))
    elif channel.kind == "dingtalk":
        url = channel.url
        if channel.secret:
            url = dingtalk_signed_url(url, channel.secret, int(utcnow().timestamp() * 1000))
        _post_robot(url, _dingtalk_body(message))
    elif channel.kind == "webhook":
        _post_webhook(channel, message)
    elif channel.kind == "email":
        _send_email(channel, message)
    else:
        raise SendError(f"未知的通知渠道类型: {channel.kind}")


def _wecom_body(message: Notification) -> dict[str, Any]:
    mobiles = [r["mobile"] for r in message.recipients if r.get("mobile")]
    # markdown cannot @ people; text can, by mobile.
    if mobiles:
        return {"msgtype": "text", "text": {"content": message.body, "mentioned_mobile_list": mobiles}}
    return {"msgtype": "markdown", "markdown": {"content": message.body}}


def _dingtalk_body(message: Notification) -> dict[str, Any]:
    mobiles = [r["mobile"] for r in message.recipients if r.get("mobile")]
    text = message.body + "".join(f" @{m}" for m in mobiles)
    return {"msgtype": "markdown", "markdown": {"title": message.subject[:60], "text": text},
            "at": {"atMobiles": mobiles, "isAtAll": False}}


def _post_robot(url: str, body: dict[str, Any]) -> None:
    data = _post(url, body, {})
    # Both robots answer 200 with {"errcode": 0} on success and a non-zero errcode otherwise.
    try:
        errcode = int(json.loads(data or b"{}").get("errcode", 0))
    except (ValueError, AttributeError) as exc:
        raise SendError(f"机器人返回无法解析: {data[:200]!r}") from exc
    if errcode != 0:
        raise SendError(f"机器人返回错误 errcode={errcode}: {data[:200].decode(errors='replace')}")


def _post_webhook(channel: NotificationChannel, message: Notification) -> None:
    body = {"key": message.dedupe_key, "subject": message.subject, "text": message.body,
            "link": message.link, "ticket_id": message.ticket_id, "alert_id": message.alert_id,
            "recipients": message.recipients}
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"X-Yuqing-Key": message.dedupe_key}
    if channel.secret:
        headers["X-Yuqing-Signature"] = hmac.new(channel.secret.encode(), raw, hashlib.sha256).hexdigest()
    _post(channel.url, raw, headers)


def _post(url: str, body: dict[str, Any] | bytes, headers: dict[str, str]) -> bytes:
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    try:
        res = httpx.post(url, content=content, timeout=get_settings().notify_timeout_seconds,
                         headers={"Content-Type": "application/json; charset=utf-8", **headers})
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as exc:
        raise SendError(f"无法连接 {urlsplit(url).netloc}: {exc}") from exc  # never left: safe to retry
    except httpx.HTTPError as exc:
        raise SendError(f"{urlsplit(url).netloc} 未在时限内答复，可能已收到: {type(exc).__name__} {exc}",
                        uncertain=True) from exc
    if res.status_code >= 300:
        raise SendError(f"HTTP {res.status_code}: {res.text[:200]}")
    return res.content


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _document(document_id: int) -> tuple[str, bytes]:
    """The stored Word file of a briefing (read when the mail goes out, not kept in the outbox)."""
    from core.db import session_scope
    from core.reports.models import BriefingDocument

    with session_scope() as session:
        doc = session.get(BriefingDocument, document_id)
        if doc is None or not doc.content:
            raise SendError(f"报告文件不存在或已清理: {document_id}")
        return doc.filename, bytes(doc.content)


def _send_email(channel: NotificationChannel, message: Notification) -> None:
    settings = get_settings()
    # Addresses and the subject go into headers: one line each, or a header could be forged
    # (and EmailMessage refuses CR/LF, which would fail this notice on every attempt).
    to = [a for a in (templates.email_address(str(x)) for x in channel.config.get("to", [])) if a]
    to += [a for a in (templates.email_address(str(r.get("email") or "")) for r in message.recipients)
           if a and a not in to]
    if not to:
        raise SendError("邮件渠道没有收件人")
    parts = urlsplit(channel.url) if channel.url else None
    host = (parts.hostname if parts else None) or settings.smtp_host
    if not host:
        raise SendError("未配置 SMTP 服务器")
    port = (parts.port if parts else None) or settings.smtp_port
    user = unquote(parts.username) if parts and parts.username else settings.smtp_user
    password = unquote(parts.password) if parts and parts.password else settings.smtp_password
    sender = templates.email_address(str(channel.config.get("from") or "")) or settings.smtp_from
    mail = EmailMessage()
    mail["Subject"] = templates.header_text(message.subject) or "舆情通知"
    mail["From"] = templates.header_text(sender)
    mail["To"] = ", ".join(to)
    mail["Message-ID"] = "<{}@yuqing>".format(
        "".join(c if c.isalnum() or c in ".-_" else "." for c in message.dedupe_key))
    mail.set_content(message.body)
    if message.document_id is not None:
        name, content = _document(message.document_id)
        maintype, subtype = DOCX_TYPE.split("/", 1)
        mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    sending = False
    try:
        with smtplib.SMTP(host, port, timeout=settings.notify_timeout_seconds) as smtp:
            if user:
                smtp.login(user, password or "")
            sending = True
            smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:  # the server answered: refused, not delivered
        raise SendError(f"邮件发送失败: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        # Cut off while sending: the server may have accepted the mail.
        raise SendError(f"邮件发送失败: {exc}", uncertain=sending) from exc
