from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.schemas import Health
from core import health as core_health
from core.db import get_engine

log = logging.getLogger(__name__)
router = APIRouter(tags=["系统"])


def app_version() -> str:
    try:
        return version("yuqing")
    except PackageNotFoundError:
        return "0.0.0"


@router.get("/api/health", response_model=Health,
            responses={503: {"model": Health, "description": "数据库或任务队列不可用，或定时任务停止"}})
def health() -> JSONResponse:
    """运行状态：数据库、任务队列（Redis）与定时任务（beat）最近一次运行（无需登录，供监控探测）。

    嵌入模式（未配置 Redis）只看数据库。"""
    report = core_health.check(engine=get_engine())
    body = Health(status="ok" if report.status == "ok" else "error",
                  database="ok" if report.database == "ok" else "error",
                  queue="embedded" if report.queue == "embedded" else "redis",
                  broker=report.broker,
                  beat=report.beat,
                  beat_last_run=report.beat_last_run, version=app_version())
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if report.status == "ok" else 503)
