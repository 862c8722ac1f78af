"""The FastAPI app: `uvicorn api.main:app`."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.middleware import RequestLimits, SecurityHeaders
from api.routers import (
    alerts,
    auth,
    calendar,
    duty,
    events,
    health,
    intake,
    ledger,
    mentions,
    notifications,
    reference,
    reports,
    sources,
    tickets,
    tracks,
    units,
    users,
    workspace,
)
from api.routers.health import app_version
from api.schemas import Problem, ValidationProblem
from core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, TooLarge, Unavailable
from core.redact import guard_loggers
from dashboards import web as dashboards_web

log = logging.getLogger(__name__)
# The access log prints each path with its query: a briefing download link's token must not reach it.
guard_loggers("uvicorn.access")

DESCRIPTION = """
街道办事处政务舆情监测与回应台账系统。

监测微博、网络问政、热线电话、新闻跟帖 → 研判分级 → 预警 → 按“谁主管谁发声”交办 →
公开回应（I、II 级须领导审核签发）→ 办结，并据台账生成年度政务公开报告中的舆情回应数据。

除 `/api/health` 和 `/api/auth/token` 外，所有接口均需 `Authorization: Bearer <令牌>`。
"""

ERROR_STATUS: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Forbidden: status.HTTP_403_FORBIDDEN,
    InvalidInput: status.HTTP_422_UNPROCESSABLE_CONTENT,
    TooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    Unavailable: status.HTTP_501_NOT_IMPLEMENTED,
}

# What every operation may answer besides its success: published once for all routes, so the
# schema describes what the API really says (every error body is {"detail": "..."}).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "请求体无法解析"},
    401: {"model": Problem, "description": "未登录或登录已失效"},
    403: {"model": Problem, "description": "当前账号无权执行此操作"},
    404: {"model": Problem, "description": "记录不存在"},
    409: {"model": Problem, "description": "与当前状态冲突（不允许的流转、重复记录）"},
    413: {"model": Problem, "description": "请求体超过上限"},
    422: {"model": ValidationProblem, "description": "参数有误：detail 为说明，errors 为逐项原因"},
    429: {"model": Problem, "description": "请求过于频繁，请稍后再试"},
}

# A 422 repeats what was sent only as far as this: a 10 MB field is not echoed back.
MAX_ECHO_CHARS = 200
MAX_DETAIL_CHARS = 1000


def printable(value: str, limit: int) -> str:
    """Text safe to put in a JSON answer: lone surrogates replaced, cut to `limit` characters."""
    if len(value) > limit:
        value = value[:limit] + f"…（共 {len(value)} 字符）"
    return value.encode("utf-8", "replace").decode("utf-8")


def _echo(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return printable(value, MAX_ECHO_CHARS)
    return None  # objects and lists are not echoed: they may be huge


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors as ValidationProblem publishes them, with short inputs only."""
    out = []
    for e in errors[:50]:
        item: dict[str, Any] = {
            "loc": [p if isinstance(p, int) else printable(str(p), MAX_ECHO_CHARS) for p in e.get("loc", ())],
            "msg": printable(str(e.get("msg", "")), MAX_DETAIL_CHARS),
            "type": str(e.get("type", "")),
            "input": _echo(e.get("input")),
        }
        if e.get("ctx"):
            item["ctx"] = {str(k): printable(str(v), MAX_ECHO_CHARS) for k, v in e["ctx"].items()}
        out.append(item)
    return out


async def domain_error(_: Request, exc: Exception) -> JSONResponse:
    code = next((c for cls, c in ERROR_STATUS.items() if isinstance(exc, cls)),
                status.HTTP_400_BAD_REQUEST)
    return JSONResponse({"detail": printable(str(exc) or "请求无法处理", MAX_DETAIL_CHARS)}, status_code=code)


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    # People read `detail` (in Chinese, one line); programs read the structured `errors`.
    errors = field_errors(exc.errors() if isinstance(exc, RequestValidationError) else [])
    where = "；".join(
        f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in errors[:3])
    return JSONResponse({"detail": printable(f"请求参数有误（{where}）", MAX_DETAIL_CHARS), "errors": errors},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # A unique or foreign-key constraint decided a race or a bad reference the service missed.
    log.warning("integrity error: %s", exc)
    return JSONResponse({"detail": "数据冲突：记录重复或引用了不存在的数据"},
                        status_code=status.HTTP_409_CONFLICT)


async def data_error(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value (too long, out of range) that request validation let through.
    log.warning("data error: %s", exc)
    return JSONResponse({"detail": "数据超出字段允许的长度或范围"},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the published schema lists for a concrete path."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = [(re.compile("^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(template)) + "$"),
                  {m.upper() for m in operations})
                 for template, operations in app.openapi()["paths"].items()]
        app.state.allowed_methods = table
    matching = [(pattern, methods) for pattern, methods in table if pattern.match(path)]
    # A literal path (/api/sources/import-opml) wins over a template that would also match it.
    literal = [(p, m) for p, m in matching if "[^/]+" not in p.pattern]
    return sorted({m for _, methods in (literal or matching) for m in methods})


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    # Starlette answers 405 from the first route matching the path, so its Allow header named only
    # that route's methods (GET) although another route on the path takes POST or PATCH.
    if not isinstance(exc, StarletteHTTPException) or exc.status_code != status.HTTP_405_METHOD_NOT_ALLOWED:
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]
    return JSONResponse({"detail": "不支持该请求方法"}, status_code=exc.status_code,
                        headers={"Allow": ", ".join(allowed_methods(request.app, request.url.path))})


def create_app() -> FastAPI:
    """Build the app: API routers, error mapping, limits and headers, and the dashboard page."""
    app = FastAPI(title="政务舆情监测与回应系统", description=DESCRIPTION, version=app_version(),
                  docs_url=None, redoc_url=None,  # /docs is served by dashboards from a local copy
                  responses=ERROR_RESPONSES)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, method_not_allowed)
    for module in (health, auth, users, workspace, mentions, events, alerts, tickets, units, sources,
                   reports, duty, notifications, ledger, intake, calendar, reference, tracks):
        app.include_router(module.router)
    app.include_router(ledger.audit_router)
    dashboards_web.mount(app)
    app.add_middleware(RequestLimits)
    # Outside Starlette's own error middleware too, so that even a 500 carries the headers.
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeaders(build())  # type: ignore[method-assign]
    return app


app = create_app()
