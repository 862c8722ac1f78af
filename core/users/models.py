from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from core.bounds import INT4_MAX
from core.models_base import created_at_field


class Role(StrEnum):
    admin = "admin"
    leader = "leader"
    duty = "duty"
    handler = "handler"


class UserBase(SQLModel):
    username: str = Field(max_length=50, unique=True, index=True)
    full_name: str = Field(default="", max_length=50)
    role: str = Field(default=Role.duty.value, max_length=20)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", ge=1, le=INT4_MAX)
    is_active: bool = True


class UserCreate(UserBase):
    password: str = Field(min_length=8)


class User(UserBase, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=200)
    created_at: datetime = created_at_field()


class UserPublic(UserBase):
    id: int
