"""Column helpers shared by the domain models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from core.timeutil import UTCDateTime, utcnow


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def time_field(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, index=index, nullable=nullable)


def json_list_field() -> Any:
    return Field(default_factory=list, sa_type=sa.JSON, nullable=False)


def json_dict_field() -> Any:
    return Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


__all__ = ["created_at_field", "datetime", "json_dict_field", "json_list_field", "time_field"]
