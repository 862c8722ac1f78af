from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import StrictBool, field_serializer, field_validator
from sqlmodel import Field, SQLModel

from core.bounds import MAX_MINUTES
from core.models_base import created_at_field, json_dict_field, json_list_field, time_field
from core.redact import redact_mapping, redact_text, redact_url
from core.sanitize import WebUrl

PUBLISHER_KINDS = ("official", "media", "resident", "unknown")


class SourceBase(SQLModel):
    name: str = Field(max_length=100, unique=True, index=True)
    kind: str = Field(default="feed", max_length=30)  # feed | weibo | wechat | forum | board | news
    channel: str = Field(default="news", max_length=20)  # how mentions from here are labelled
    # Who publishes here: official (government, its own accounts) | media (news outlets, verified
    # media accounts) | resident (residents' own groups and accounts) | unknown. Only "media",
    # and news sites not marked otherwise, count as 媒体介入 when an event is graded.
    publisher_kind: str = Field(default="unknown", max_length=20)
    url: str = Field(max_length=1000)
    params: dict[str, Any] = json_dict_field()
    keywords: list[str] = json_list_field()
    schedule_minutes: int = Field(default=15, ge=1, le=MAX_MINUTES)
    enabled: bool = True

    @field_validator("publisher_kind", check_fields=False)
    @classmethod
    def _known_publisher_kind(cls, value: str) -> str:
        if value not in PUBLISHER_KINDS:
            raise ValueError(f"publisher_kind must be one of {', '.join(PUBLISHER_KINDS)}")
        return value


class SourceCreate(SourceBase):
    url: WebUrl = Field(max_length=1000)  # http(s) only: the crawler fetches it, the page links it
    enabled: StrictBool = True  # 0 or "yes" is a mistake, not a boolean


class Source(SourceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    # Health, updated after each fetch.
    health: str = Field(default="unknown", max_length=20)  # unknown | ok | error | login_expired | silent
    last_fetch_at: datetime | None = time_field()
    last_success_at: datetime | None = time_field()
    last_item_at: datetime | None = time_field()
    last_error: str = Field(default="", max_length=1000)
    consecutive_failures: int = 0
    health_since: datetime | None = time_field()  # when the current health state began
    circuit_open_until: datetime | None = time_field()  # after repeated failures, wait until then
    expected_gap_minutes: int | None = None  # silence longer than this is an incident (None: learn it)
    # Incremental fetching: what the last fetch saw (etag, last-modified, since-id ...).
    cursor: dict[str, Any] = json_dict_field()
    # Cookies, tokens: secrets. Never logged, never in SourcePublic.
    credentials: dict[str, Any] = json_dict_field()


    @property
    def has_credentials(self) -> bool:
        """Whether cookies/tokens are set (what the API may say about secrets)."""
        return bool(self.credentials)


class SourceUpdate(SQLModel):
    """Fields an admin may change; omitted fields stay as they are."""

    url: WebUrl | None = Field(default=None, max_length=1000)
    channel: str | None = Field(default=None, max_length=20)
    publisher_kind: str | None = Field(default=None, max_length=20)
    params: dict[str, Any] | None = None
    keywords: list[str] | None = None
    schedule_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)
    enabled: StrictBool | None = None
    expected_gap_minutes: int | None = Field(default=None, ge=1, le=MAX_MINUTES)

    @field_validator("publisher_kind")
    @classmethod
    def _known_publisher_kind(cls, value: str | None) -> str | None:
        if value is not None and value not in PUBLISHER_KINDS:
            raise ValueError(f"publisher_kind must be one of {', '.join(PUBLISHER_KINDS)}")
        return value


class SourceCredentials(SQLModel):
    """Login material for a source: a Cookie header and/or extra headers (tokens)."""

    cookie: str = Field(default="", max_length=8000)  # "SUB=...; SUBP=..." as the browser sends it
    cookies: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. {"Authorization": "Bearer ..."}


class SourcePublic(SourceBase):
    id: int
    health: str
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    consecutive_failures: int
    health_since: datetime | None
    last_item_at: datetime | None
    circuit_open_until: datetime | None = None
    expected_gap_minutes: int | None = None
    has_credentials: bool = False  # the credentials themselves are never returned

    # An access key in a feed URL (RSSHub `?key=`, an API `access_token=`) or in params is a
    # secret too: shown masked, like a fetch error that quotes the URL.
    @field_serializer("url")
    def _masked_url(self, url: str) -> str:
        return redact_url(url)

    @field_serializer("params")
    def _masked_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return redact_mapping(params)

    @field_serializer("last_error")
    def _masked_error(self, error: str) -> str:
        return redact_text(error)
