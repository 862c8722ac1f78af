from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from core.reports import workspace
from core.reports.workspace import Workspace

router = APIRouter(tags=["工作台"])


@router.get("/api/workspace", response_model=Workspace)
def my_workspace(session: SessionDep, user: CurrentUser) -> Workspace:
    """工作台：待我处理（领导为待我签发，值班为待交办）、已超期、即将超期、未签收预警和各队列数量。"""
    return workspace.for_user(session=session, user=user)
