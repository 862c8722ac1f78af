"""领导留言板 / 网络问政 list APIs as pure functions.

The people.com.cn board (liuyan.people.com.cn) answers its list API with records named
``tid, subject, content, forumName (the leader addressed), domainName, typeName, stateInfo,
dateline``; local 网络问政 platforms built on the same pattern differ in the envelope and
some names, which a source's ``params.fields`` / ``params.list_path`` map.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crawlers.feeds import html_to_text
from crawlers.textutil import parse_cn_time, parse_count

DEFAULT_FIELDS: dict[str, list[str]] = {
    "id": ["tid", "id", "threadId", "msgId", "letterId"],
    "title": ["subject", "title", "msgTitle", "letterTitle"],
    "text": ["content", "msgContent", "letterContent", "body", "text"],
    "author": ["nickName", "nickname", "userName", "author", "user"],
    "to": ["forumName", "leaderName", "toName", "deptName"],
    "domain": ["domainName", "typeName", "category"],
    "state": ["stateInfo", "state", "status", "replyStatus"],
    "time": ["dateline", "threadsCheckTime", "createTime", "time", "pubDate", "createDate"],
    "reply": ["answerContent", "replyContent", "reply"],
    "likes": ["praiseNum", "supportNum", "likeCount"],
}
_LIST_PATHS = ("resultData.data", "resultData.list", "resultData", "data.list", "data.records", "data.rows",
               "data", "list", "rows", "records")
_OK_CODES = {"200", "0", "1", "true", "success"}


class BoardError(ValueError):
    def __init__(self, message: str, health: str = "error") -> None:
        super().__init__(message)
        self.health = health


@dataclass(frozen=True)
class BoardMessage:
    id: str
    title: str
    text: str
    author: str
    to: str
    domain: str
    state: str
    published_at: datetime | None
    reply: str
    likes: int
    raw: str


def _at(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _pick(record: Mapping[str, Any], names: list[str]) -> Any:
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return value
    return None


def _text(value: Any) -> str:
    return html_to_text(str(value)) if value not in (None, "") else ""


def find_records(data: Any, list_path: str | None = None) -> list[Mapping[str, Any]]:
    """The message list of an answer; raises BoardError for an error envelope."""
    if isinstance(data, list):
        return [r for r in data if isinstance(r, Mapping)]
    if not isinstance(data, Mapping):
        raise BoardError("留言板接口返回的不是 JSON 对象")
    code = _pick(data, ["resultCode", "code", "status"])
    message = str(_pick(data, ["resultMsg", "msg", "message"]) or "")
    if "登录" in message or str(code) in ("401", "403"):
        raise BoardError(f"留言板接口要求登录：{message or code}", "login_expired")
    if code is not None and str(code).lower() not in _OK_CODES and not str(code).startswith("2"):
        raise BoardError(f"留言板接口返回错误：{code} {message}".strip())
    for path in ([list_path] if list_path else []) + list(_LIST_PATHS):
        found = _at(data, path)
        if isinstance(found, list):
            return [r for r in found if isinstance(r, Mapping)]
    raise BoardError("留言板接口响应中没有留言列表")


def parse_records(records: list[Mapping[str, Any]], now: datetime,
                  fields: Mapping[str, str | list[str]] | None = None) -> list[BoardMessage]:
    names = {k: list(v) for k, v in DEFAULT_FIELDS.items()}
    for key, value in (fields or {}).items():
        names[key] = [value] if isinstance(value, str) else list(value)
    out: list[BoardMessage] = []
    for record in records:
        ident = _pick(record, names["id"])
        if ident in (None, ""):
            continue
        out.append(BoardMessage(
            id=str(ident), title=_text(_pick(record, names["title"])).replace("\n", " "),
            text=_text(_pick(record, names["text"])), author=str(_pick(record, names["author"]) or ""),
            to=str(_pick(record, names["to"]) or ""), domain=str(_pick(record, names["domain"]) or ""),
            state=str(_pick(record, names["state"]) or ""),
            published_at=parse_cn_time(_pick(record, names["time"]), now),
            reply=_text(_pick(record, names["reply"])), likes=parse_count(_pick(record, names["likes"])),
            raw=json.dumps(record, ensure_ascii=False, default=str)))
    return out
