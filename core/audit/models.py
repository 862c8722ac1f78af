from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_serializer
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, json_dict_field
from core.redact import redact_mapping, redact_text


class AuditLog(SQLModel, table=True):
    """One change: who, when, what, before and after."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    entity: str = Field(max_length=30, index=True)  # alert | duty_shift | response | channel | staff_post ...
    entity_id: int = Field(index=True)
    action: str = Field(max_length=30)
    before: dict[str, Any] = json_dict_field()
    after: dict[str, Any] = json_dict_field()
    note: str = Field(default="", max_length=2000)


class AuditLogPublic(SQLModel):
    id: int
    at: datetime
    actor_id: int | None
    entity: str
    entity_id: int
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    note: str

    # Rows are masked when written; masking again on the way out covers rows written before.
    @field_serializer("before", "after")
    def _masked(self, values: dict[str, Any]) -> dict[str, Any]:
        return redact_mapping(values)

    @field_serializer("note")
    def _masked_note(self, note: str) -> str:
        return redact_text(note)
