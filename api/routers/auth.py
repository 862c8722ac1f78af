from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import SessionDep
from api.schemas import Token
from api.security import create_access_token
from core.config import get_settings
from core.users import service as users
from core.users.models import User

router = APIRouter(prefix="/api/auth", tags=["登录"])


def too_many(seconds: int) -> HTTPException:
    minutes = max(1, (seconds + 59) // 60)
    return HTTPException(status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                         detail=f"登录失败次数过多，请{minutes}分钟后再试",
                         headers={"Retry-After": str(max(1, seconds))})


def issue_token(user: User) -> Token:
    """A bearer token for the user at their current token version."""
    assert user.id is not None
    minutes = get_settings().token_minutes
    return Token(access_token=create_access_token(user.id, role=user.role, token_version=user.token_version),
                 expires_in=minutes * 60)


@router.post("/token", response_model=Token,
             responses={401: {"description": "用户名或密码错误"},
                        429: {"description": "失败次数过多，按 Retry-After 秒后再试"}})
def login(request: Request, session: SessionDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """用户名密码登录，换取 Bearer 令牌；同一账号或地址连续失败过多时暂时锁定（429）。"""
    address = request.client.host if request.client else None
    wait = users.retry_after(session=session, username=form.username, address=address)
    if wait is not None:
        raise too_many(wait)
    user = users.authenticate(session=session, username=form.username, password=form.password)
    if user is None or user.id is None:
        users.record_failure(session=session, username=form.username, address=address)
        session.commit()  # the count must survive the error response's rollback
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="用户名或密码错误",
                            headers={"WWW-Authenticate": "Bearer"})
    users.record_success(session=session, username=form.username)
    return issue_token(user)
