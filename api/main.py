"""The FastAPI app: `uvicorn api.main:app`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from api.routers import (
    alerts,
    auth,
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
    units,
    users,
    workspace,
)
from api.routers.health import app_version
from api.schemas import ERROR_RESPONSES
from core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from dashboards import web as dashboards_web

log = logging.getLogger(__name__)

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
}


async def domain_error(_: Request, exc: Exception) -> JSONResponse:
    code = next((c for cls, c in ERROR_STATUS.items() if isinstance(exc, cls)),
                status.HTTP_400_BAD_REQUEST)
    return JSONResponse({"detail": str(exc) or "请求无法处理"}, status_code=code)


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    # People read `detail` (in Chinese, one line); programs read the structured `errors`.
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    where = "；".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg', '')}"
        for e in errors[:3])
    return JSONResponse({"detail": f"请求参数有误（{where}）", "errors": jsonable_encoder(errors)},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # A unique or foreign-key constraint decided a race or a bad reference the service missed.
    log.warning("integrity error: %s", exc)
    return JSONResponse({"detail": "数据冲突：记录重复或引用了不存在的数据"},
                        status_code=status.HTTP_409_CONFLICT)


def create_app() -> FastAPI:
    """Build the app: API routers, error mapping, and the dashboard page with its assets."""
    app = FastAPI(title="政务舆情监测与回应系统", description=DESCRIPTION, version=app_version(),
                  docs_url=None, redoc_url=None)  # /docs is served by dashboards from a local copy
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for module in (health, auth, users, workspace, mentions, events, alerts, tickets, units, sources,
                   reports, duty, notifications, ledger, intake, reference):
        app.include_router(module.router, responses=None if module is health else ERROR_RESPONSES)
    app.include_router(ledger.audit_router, responses=ERROR_RESPONSES)
    dashboards_web.mount(app)
    return app


app = create_app()
