from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from api.deps import Admin, CurrentUser, Dispatcher, SessionDep
from api.routers.auth import issue_token, too_many
from api.schemas import Token
from core.errors import InvalidInput, NotFound
from core.users import service as users
from core.users.models import MAX_ID, PasswordChange, PasswordReset, User, UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/api/users", tags=["用户"])
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> User:
    """当前登录用户。"""
    return user


@router.post("/me/password", response_model=Token,
             responses={429: {"description": "原密码错误次数过多，按 Retry-After 秒后再试"}})
def change_my_password(request: Request, session: SessionDep, user: CurrentUser, body: PasswordChange) -> Token:
    """修改本人密码：原有令牌全部失效，返回新令牌。原密码错误与登录失败一并计数。"""
    address = request.client.host if request.client else None
    wait = users.retry_after(session=session, username=user.username, address=address)
    if wait is not None:
        raise too_many(wait)  # a stolen token must not become a way to guess the password
    if not users.verify_password(body.old_password, user.password_hash):
        users.record_failure(session=session, username=user.username, address=address)
        session.commit()
        raise InvalidInput("原密码不正确")
    users.change_own_password(session=session, user=user, old_password=body.old_password,
                              new_password=body.new_password)
    return issue_token(user)


@router.get("", response_model=list[UserPublic])
def list_users(session: SessionDep, _: Dispatcher) -> list[User]:
    """全部用户（交办时选择承办人）。"""
    return users.get_all(session=session)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, admin: Admin, user_in: UserCreate) -> User:
    """新建用户（仅管理员）；角色为 admin、leader、duty、handler 之一，承办人须指定单位。"""
    return users.create(session=session, user_in=user_in, actor_id=admin.id)


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(session: SessionDep, admin: Admin, user_id: UserId, body: UserUpdate) -> User:
    """修改姓名、角色、单位或停用（仅管理员，留痕）；改角色、改单位或停用后原令牌失效。"""
    return users.update(session=session, user_id=user_id, user_in=body, actor_id=admin.id)


@router.post("/{user_id}/reset-password", response_model=UserPublic)
def reset_password(session: SessionDep, admin: Admin, user_id: UserId, body: PasswordReset) -> User:
    """重置密码（仅管理员，留痕）；该用户原有令牌全部失效。"""
    user = users.get(session=session, user_id=user_id)
    if user is None:
        raise NotFound(f"用户不存在: {user_id}")
    return users.set_password(session=session, user=user, password=body.password, actor_id=admin.id)
