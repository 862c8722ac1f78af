from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import Admin, CurrentUser, SessionDep
from core.units import service as units
from core.units.models import Unit, UnitCreate, UnitPublic

router = APIRouter(prefix="/api/units", tags=["责任单位"])


@router.get("", response_model=list[UnitPublic])
def list_units(session: SessionDep, _: CurrentUser) -> list[Unit]:
    """责任单位（部门、社区）。"""
    return units.get_all(session=session)


@router.post("", response_model=UnitPublic, status_code=status.HTTP_201_CREATED)
def create_unit(session: SessionDep, _: Admin, unit_in: UnitCreate) -> Unit:
    """新建责任单位（仅管理员）；重名返回 409。"""
    return units.create(session=session, unit_in=unit_in)
