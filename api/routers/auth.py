from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import SessionDep
from api.schemas import Token
from api.security import create_access_token
from core.config import get_settings
from core.users import service as users

router = APIRouter(prefix="/api/auth", tags=["登录"])


@router.post("/token", response_model=Token)
def login(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """用户名密码登录，换取 Bearer 令牌。"""
    user = users.authenticate(session=session, username=form.username, password=form.password)
    if user is None or user.id is None:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="用户名或密码错误",
                            headers={"WWW-Authenticate": "Bearer"})
    minutes = get_settings().token_minutes
    return Token(access_token=create_access_token(user.id, role=user.role),
                 expires_in=minutes * 60)
