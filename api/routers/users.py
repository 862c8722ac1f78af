from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import Admin, CurrentUser, Dispatcher, SessionDep
from core.users import service as users
from core.users.models import User, UserCreate, UserPublic

router = APIRouter(prefix="/api/users", tags=["用户"])


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> User:
    """当前登录用户。"""
    return user


@router.get("", response_model=list[UserPublic])
def list_users(session: SessionDep, _: Dispatcher) -> list[User]:
    """全部用户（交办时选择承办人）。"""
    return users.get_all(session=session)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, _: Admin, user_in: UserCreate) -> User:
    """新建用户（仅管理员）。"""
    return users.create(session=session, user_in=user_in)
