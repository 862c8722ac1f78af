from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.bounds import INT4_MAX
from core.models_base import created_at_field, time_field


class Role(StrEnum):
    admin = "admin"
    leader = "leader"
    duty = "duty"
    handler = "handler"


ROLE_VALUES = tuple(r.value for r in Role)
ROLE_LABELS = {"admin": "管理员", "leader": "领导", "duty": "值班人员", "handler": "承办人"}
PASSWORD_MIN, PASSWORD_MAX = 8, 128
MAX_ID = 2**31 - 1  # an id the database can hold: larger ones are a 422, not a 500


def known_role(role: object) -> bool:
    """Whether role is one of the closed set (anything else gets nothing: deny by default)."""
    return isinstance(role, str) and role in ROLE_VALUES


class UserBase(SQLModel):
    username: str = Field(min_length=1, max_length=50, unique=True, index=True)
    full_name: str = Field(default="", max_length=50)
    role: str = Field(default=Role.duty.value, max_length=20)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", ge=1, le=INT4_MAX)
    is_active: bool = True


class UserCreate(UserBase):
    # The enum is checked at the edge: an unknown role is a 422, never a stored string.
    role: Role = Role.duty
    unit_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class UserUpdate(SQLModel):
    """What an admin may change; omitted fields stay as they are."""

    full_name: str | None = Field(default=None, max_length=50)
    role: Role | None = None
    unit_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    is_active: bool | None = None


class PasswordReset(SQLModel):
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class PasswordChange(SQLModel):
    old_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class User(UserBase, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (
        sa.CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLE_VALUES)})", name="ck_app_user_role"),
    )
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=200)
    created_at: datetime = created_at_field()
    # Bumped on a password change, a role or unit change and a deactivation: every token
    # carries the version it was issued under, and an older one is refused.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class UserPublic(SQLModel):
    id: int
    username: str
    full_name: str
    # A string, not the enum: a list must still answer if an old row holds something else.
    role: str = Field(description="admin | leader | duty | handler")
    unit_id: int | None
    is_active: bool


class LoginThrottle(SQLModel, table=True):
    """Failed logins per account (`user:<name>`) or per address (`addr:<ip>`), kept in the
    database so throttling works on the embedded SQLite default without Redis."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=120)
    failures: int = 0
    window_started_at: datetime = created_at_field()
    locked_until: datetime | None = time_field()
