from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import Admin, Dispatcher, SessionDep
from core.sources import service as sources
from core.sources.models import Source, SourceCreate, SourcePublic

router = APIRouter(prefix="/api/sources", tags=["监测源"])


@router.get("", response_model=list[SourcePublic])
def list_sources(session: SessionDep, _: Dispatcher) -> list[Source]:
    """监测源及其健康状态。"""
    return sources.get_all(session=session)


@router.post("", response_model=SourcePublic, status_code=status.HTTP_201_CREATED)
def create_source(session: SessionDep, _: Admin, source_in: SourceCreate) -> Source:
    """新建监测源（仅管理员）；重名返回 409。"""
    return sources.create(session=session, source_in=source_in)
