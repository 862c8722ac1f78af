from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile, status
from pydantic import BaseModel

from api.deps import Admin, Dispatcher, SessionDep
from api.params import IdPath
from core.bounds import MAX_MINUTES
from core.errors import NotFound, TooLarge
from core.redact import redact_text
from core.sources import opml
from core.sources import service as sources
from core.sources.models import Source, SourceCreate, SourceCredentials, SourcePublic, SourceUpdate

router = APIRouter(prefix="/api/sources", tags=["监测源"])
MAX_OPML_BYTES = 2 * 1024 * 1024


def _get(session: SessionDep, source_id: IdPath) -> Source:
    source = sources.get(session=session, source_id=source_id)
    if source is None:
        raise NotFound(f"监测源不存在: {source_id}")
    return source


@router.get("", response_model=list[SourcePublic])
def list_sources(session: SessionDep, _: Dispatcher) -> list[Source]:
    """监测源及其健康状态。"""
    return sources.get_all(session=session)


@router.post("", response_model=SourcePublic, status_code=status.HTTP_201_CREATED)
def create_source(session: SessionDep, _: Admin, source_in: SourceCreate) -> Source:
    """新建监测源（仅管理员）；重名返回 409。"""
    return sources.create(session=session, source_in=source_in)


@router.get("/{source_id:int}", response_model=SourcePublic)
def get_source(session: SessionDep, _: Dispatcher, source_id: IdPath) -> Source:
    """单个监测源（不含凭据）。"""
    return _get(session, source_id)


@router.patch("/{source_id:int}", response_model=SourcePublic)
def update_source(session: SessionDep, _: Admin, source_id: IdPath, source_in: SourceUpdate) -> Source:
    """修改地址、参数、关键词、采集周期、启停（仅管理员）。"""
    return sources.update(session=session, source=_get(session, source_id), source_in=source_in)


class TestFetchResult(BaseModel):
    ok: bool
    fetched: int  # items read from the source
    new: int  # stored as new mentions
    duplicate: int
    error: str
    source: SourcePublic  # with its health and last error after the fetch


@router.post("/{source_id:int}/test-fetch", response_model=TestFetchResult)
def test_fetch(session: SessionDep, _: Admin, source_id: IdPath) -> TestFetchResult:
    """立即采集一次该监测源（仅管理员），返回读到和新增的条数、错误与健康状态。"""
    source = _get(session, source_id)
    name = source.name
    session.commit()  # the crawl runs in a child process that must see the committed source
    from crawlers.run import CrawlError, run_crawl_subprocess

    error = ""
    stats: dict[str, Any] = {}
    try:
        summary = run_crawl_subprocess([name], timeout=120)
        stats = dict((summary.get("sources") or {}).get(name) or {})
    except CrawlError as exc:
        error = str(exc)
    session.expire_all()
    source = _get(session, source_id)
    if not error and (stats.get("status") == "error" or not stats):
        error = "；".join(str(e) for e in stats.get("errors") or []) or source.last_error or "采集失败"
    return TestFetchResult(ok=not error, fetched=int(stats.get("fetched", 0) or 0),
                           new=int(stats.get("new", 0) or 0), duplicate=int(stats.get("duplicate", 0) or 0),
                           error=redact_text(error), source=SourcePublic.model_validate(source))


@router.put("/{source_id:int}/credentials", response_model=SourcePublic)
def set_credentials(session: SessionDep, _: Admin, source_id: IdPath, credentials: SourceCredentials) -> Source:
    """设置 Cookie/令牌（仅管理员）。凭据只写不读：任何接口都不会返回它。"""
    return sources.set_credentials(session=session, source=_get(session, source_id), credentials=credentials)


@router.delete("/{source_id:int}/credentials", response_model=SourcePublic)
def clear_credentials(session: SessionDep, _: Admin, source_id: IdPath) -> Source:
    """清除凭据（仅管理员）。"""
    return sources.set_credentials(session=session, source=_get(session, source_id), credentials=None)


@router.post("/import-opml")
def import_opml(session: SessionDep, _: Admin, file: Annotated[UploadFile, File()],
                kind: Annotated[str, Form()] = "wechat",
                schedule_minutes: Annotated[int, Form(ge=1, le=MAX_MINUTES)] = 60) -> dict[str, list[str]]:
    """从 RSSHub / wechat2rss / we-mp-rss 导出的 OPML 批量新建监测源（仅管理员）；超过 2MB 返回 413。"""
    # A plain def (worker thread): XML parsing stays out of the event loop.
    content = file.file.read(MAX_OPML_BYTES + 1)
    if len(content) > MAX_OPML_BYTES:
        raise TooLarge("OPML 文件超过 2MB")
    result = opml.import_feeds(session=session, content=content, kind=kind,
                               channel="wechat" if kind == "wechat" else "news",
                               schedule_minutes=schedule_minutes)
    return {"created": result.created, "existing": result.existing, "rejected": result.rejected}
