"""ASGI middleware of the edge: body size caps, refusal of unencodable text, security headers.

Pure ASGI (not BaseHTTPMiddleware): it must see the body before the app parses it, and must
not buffer streamed responses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import get_settings

# A JSON string escape of a UTF-16 surrogate: the only way a lone surrogate gets into a body
# (raw UTF-8 cannot encode one), and such text can be neither stored nor echoed.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")


def _json_response(status: int, body: Mapping[str, Any]) -> tuple[Message, Message]:
    payload = json.dumps(body, ensure_ascii=False).encode()
    return ({"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]},
            {"type": "http.response.body", "body": payload})


def too_large_detail(limit: int) -> str:
    return f"请求体过大（上限 {limit // 1024} KB）"


def has_lone_surrogate(body: bytes) -> bool:
    """Whether a JSON body holds a string no UTF-8 encoder accepts (a lone surrogate escape)."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    except ValueError:
        return False  # not JSON at all: the app answers that
    return False


# NUL: PostgreSQL text refuses it (a 500 from the driver), and no person types it.
_PERCENT_NUL = re.compile(rb"%00")
_NUL_ESCAPE = re.compile(rb"\\u0000")


def _without_nul_query(scope: Scope) -> Scope:
    query = scope.get("query_string", b"")
    if b"%00" not in query:
        return scope
    return {**scope, "query_string": _PERCENT_NUL.sub(b"", query)}


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    return value


def strip_nul_json(body: bytes) -> bytes:
    """A JSON body without NUL characters in any string (keys included); other bodies unchanged."""
    if not _NUL_ESCAPE.search(body):
        return body
    try:
        return json.dumps(_strip_nul(json.loads(body)), ensure_ascii=False).encode()
    except ValueError:
        return body  # not JSON: the app answers that


class RequestLimits:
    """413 for a body over its cap (uploads have their own); 422 for a JSON body with lone surrogates;
    NUL characters dropped from JSON strings, forms and query strings.

    Small bodies (JSON, forms) are read here in full and replayed; multipart uploads stream
    through a counting receive, so a slow 20 MB upload does not sit in memory twice.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(_without_nul_query(scope), receive, send)
            return
        settings = get_settings()
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        upload = content_type == b"multipart/form-data"
        limit = settings.max_upload_bytes if upload else settings.max_body_bytes
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, 413, too_large_detail(limit))
            return
        if upload:
            await self._stream(_without_nul_query(scope), receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, 413, too_large_detail(limit))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = original = b"".join(chunks)
        if content_type.endswith(b"json"):
            if has_lone_surrogate(body):
                await self._refuse(send, 422, "请求中含有无法编码的字符（孤立的 UTF-16 代理项）",
                                   errors=[{"loc": ["body"], "msg": "含有孤立的 UTF-16 代理项", "type": "unicode"}])
                return
            body = strip_nul_json(body)
        elif content_type == b"application/x-www-form-urlencoded":
            body = _PERCENT_NUL.sub(b"", body)
        scope = _without_nul_query(scope)
        if body != original:
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"content-length"]
                     + [(b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _stream(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        size = 0

        async def counting() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                # Raised inside the app's form parsing: FastAPI passes an HTTPException on as it is.
                raise HTTPException(status_code=413, detail=too_large_detail(limit))
            return message

        await self.app(scope, counting, send)

    @staticmethod
    async def _refuse(send: Send, status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        body: dict[str, Any] = {"detail": detail}
        if errors is not None:
            body["errors"] = errors
        start, message = _json_response(status, body)
        await send(start)
        await send(message)


def response_headers() -> dict[str, str]:
    """Headers every answer carries: the dashboard's security set, and no caching of data."""
    from dashboards.web import SECURITY_HEADERS

    return {**SECURITY_HEADERS, "Cache-Control": "no-store", "Pragma": "no-cache"}


class SecurityHeaders:
    """Adds response_headers() to every response that does not set its own value."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in response_headers().items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.headers if k not in present]
            await send(message)

        await self.app(scope, receive, with_headers)
