from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import Admin, CurrentUser, SessionDep
from api.params import IdPath
from core.errors import NotFound
from core.units import service as units
from core.units.models import Unit, UnitCreate, UnitPublic, UnitUpdate

router = APIRouter(prefix="/api/units", tags=["责任单位"])


@router.get("", response_model=list[UnitPublic])
def list_units(session: SessionDep, _: CurrentUser) -> list[Unit]:
    """责任单位（部门、社区）。"""
    return units.get_all(session=session)


@router.post("", response_model=UnitPublic, status_code=status.HTTP_201_CREATED)
def create_unit(session: SessionDep, _: Admin, unit_in: UnitCreate) -> Unit:
    """新建责任单位（仅管理员）；重名返回 409。"""
    return units.create(session=session, unit_in=unit_in)


@router.patch("/{unit_id}", response_model=UnitPublic)
def update_unit(session: SessionDep, user: Admin, unit_id: IdPath, unit_in: UnitUpdate) -> Unit:
    """修改责任单位名称、类型、主管话题或联系方式（仅管理员，留痕）；重名返回 409。"""
    unit = units.get(session=session, unit_id=unit_id)
    if unit is None:
        raise NotFound(f"责任单位不存在: {unit_id}")
    return units.update(session=session, unit=unit, unit_in=unit_in, actor_id=user.id)
