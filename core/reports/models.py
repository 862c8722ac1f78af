"""Briefings as sent: the Word file kept once, for the e-mail attachment and the download link."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, time_field


class BriefingDocument(SQLModel, table=True):
    """One generated 日报/周报/月报 as it went out.

    `key` is `briefing:<period>:<first day>` for the beat's (unique: a second beat process,
    a restart or a retry finds it and sends nothing) and `manual:...` for one sent from the page.
    The download link's token is random; only its SHA-256 is kept here, and the link stops
    working at `expires_at`.
    """

    __tablename__ = "briefing_document"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100, unique=True)
    period: str = Field(max_length=10)
    since: date
    until: date
    opinion: str = Field(default="", sa_type=sa.Text)
    filename: str = Field(max_length=200)
    content: bytes = Field(sa_type=sa.LargeBinary)
    token_hash: str = Field(max_length=64)
    expires_at: datetime = time_field(nullable=False)
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    downloads: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = created_at_field()
