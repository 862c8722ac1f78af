from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.models_base import created_at_field


class UnitBase(SQLModel):
    name: str = Field(max_length=100, unique=True, index=True)
    kind: str = Field(default="department", max_length=20)  # department | community
    topics: str = Field(default="", max_length=200)  # comma-separated topic codes it owns
    contact: str = Field(default="", max_length=100)


class UnitCreate(UnitBase):
    pass


class UnitUpdate(SQLModel):
    """Fields an admin may change; omitted fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: str | None = Field(default=None, max_length=20)
    topics: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=100)


class Unit(UnitBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()


class UnitPublic(UnitBase):
    id: int
