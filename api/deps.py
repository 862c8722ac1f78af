"""Request dependencies: a database session per request, the current user, role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from api.security import InvalidToken, token_claims
from core.db import session_scope
from core.users import service as users
from core.users.models import Role, User, known_role

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token")


def get_session() -> Iterator[Session]:
    """One session per request: commit on success, roll back on any error.

    Routers that enqueue work commit explicitly first (the queue carries only ids of
    committed rows); the final commit is then a no-op.
    """
    with session_scope() as session:
        yield session


# scope="function": the commit runs before the response is sent, so a failed commit is a
# 500 instead of a 200 for data that was never stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
TokenDep = Annotated[str, Depends(oauth2_scheme)]

_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="登录已失效或凭证无效，请重新登录",
    headers={"WWW-Authenticate": "Bearer"},
)


_FORBIDDEN = HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="当前账号无权执行此操作")


def get_current_user(session: SessionDep, token: TokenDep) -> User:
    """The active user named by the bearer token, else 401.

    A token issued before the user's last password, role or unit change or deactivation
    carries an older version and is refused. A user whose role is not one of the known
    roles gets nothing at all (deny by default).
    """
    try:
        user_id, version = token_claims(token)
    except InvalidToken:
        raise _UNAUTHORIZED from None
    user = users.get(session=session, user_id=user_id)
    if user is None or not user.is_active or user.token_version != version:
        raise _UNAUTHORIZED
    if not known_role(user.role):
        raise _FORBIDDEN
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role | str) -> Callable[[User], User]:
    """A dependency that lets only the given roles through (403 for the others)."""
    allowed = {Role(r).value for r in roles}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise _FORBIDDEN
        return user

    return check


# People who triage: duty staff, leaders and admins (not unit handlers).
Dispatcher = Annotated[User, Depends(require_roles(Role.admin, Role.leader, Role.duty))]
Leader = Annotated[User, Depends(require_roles(Role.admin, Role.leader))]
Admin = Annotated[User, Depends(require_roles(Role.admin))]
