from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.schemas import Health
from core.config import get_settings
from core.db import get_engine

log = logging.getLogger(__name__)
router = APIRouter(tags=["系统"])


def app_version() -> str:
    try:
        return version("yuqing")
    except PackageNotFoundError:
        return "0.0.0"


@router.get("/api/health", response_model=Health,
            responses={503: {"model": Health, "description": "数据库不可用"}})
def health() -> JSONResponse:
    """运行状态：数据库连通性与任务队列模式（无需登录，供监控探测）。"""
    try:
        with get_engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        database: Literal["ok", "error"] = "ok"
    except Exception:  # any failure to reach the database is "down" to a probe
        log.exception("health check: database unreachable")
        database = "error"
    body = Health(
        status="ok" if database == "ok" else "error",
        database=database,
        queue="embedded" if get_settings().embedded_queue else "redis",
        version=app_version(),
    )
    return JSONResponse(body.model_dump(), status_code=200 if database == "ok" else 503)
