from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, json_dict_field, json_list_field, time_field
from core.sanitize import repair_surrogates


class MentionBase(SQLModel):
    channel: str = Field(default="news", max_length=20)  # weibo | wechat | forum | board | news | hotline | manual
    external_id: str = Field(max_length=300)
    url: str = Field(default="", max_length=2000)
    title: str = Field(default="", max_length=500)
    text: str = Field(default="", sa_type=sa.Text)
    author: str = Field(default="", max_length=200)
    published_at: datetime | None = time_field(index=True)
    likes: int = 0
    reposts: int = 0
    comments: int = 0
    views: int = 0


class MentionCreate(MentionBase):
    source_id: int | None = None
    raw: str = ""
    contact: str = ""

    @model_validator(mode="before")
    @classmethod
    def _repair_surrogates(cls, data: Any) -> Any:
        # Before pydantic's own check, which refuses a lone surrogate (half an emoji in a cut-off
        # API answer) and with it the whole post.
        if isinstance(data, dict):
            return {k: repair_surrogates(v) if isinstance(v, str) else v for k, v in data.items()}
        return data


class Mention(MentionBase, table=True):
    __table_args__ = (
        sa.UniqueConstraint("source_id", "external_id", name="uq_mention_source_external"),
        sa.UniqueConstraint("url_fingerprint", name="uq_mention_url_fingerprint"),
        # Hotline, manual and imported entries have no source: NULLs never collide in the key
        # above, so this partial index makes the database refuse their duplicates too.
        sa.Index("uq_mention_sourceless_external", "external_id", unique=True,
                 sqlite_where=sa.text("source_id IS NULL"), postgresql_where=sa.text("source_id IS NULL")),
        # Near-duplicate look-up: a band equal and seen within the clustering window. With the time
        # in the index the look-up reads only the window, however long the history.
        sa.Index("ix_mention_simhash_b0_seen", "simhash_b0", "seen_at"),
        sa.Index("ix_mention_simhash_b1_seen", "simhash_b1", "seen_at"),
        sa.Index("ix_mention_simhash_b2_seen", "simhash_b2", "seen_at"),
        sa.Index("ix_mention_simhash_b3_seen", "simhash_b3", "seen_at"),
        sa.Index("ix_mention_pending", "analyzed_at", "created_at"),
        # Keyset paging of searches, newest first: (seen_at, id) < (cursor).
        sa.Index("ix_mention_seen", "seen_at", "id"),
        # Dashboard and briefing figures (trend, sentiment, channel) as index-only scans of a window.
        sa.Index("ix_mention_seen_figures", "seen_at", "sentiment", "channel"),
        # A source's newest posts (its usual gap between them, for silence alerts).
        sa.Index("ix_mention_source_seen", "source_id", "seen_at"),
        # The ledger's figures of each event's posts, oldest published first, from the index alone.
        sa.Index("ix_mention_event_posts", "event_id", "published_at", "id", "sentiment", "views", "likes",
                 "reposts", "comments"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    url_fingerprint: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()
    fetched_at: datetime | None = time_field()
    # When it was said: published_at, or when stored for sources without a time (hotline).
    # Set on insert (listener below), so every list sorts on one indexed column.
    seen_at: datetime | None = time_field()
    # Raw evidence: posts get deleted, so keep what we saw and its hash.
    raw: str = Field(default="", sa_type=sa.Text)
    raw_sha256: str = Field(default="", max_length=64)
    # A hotline caller's phone or address: private, never in MentionPublic or exports.
    contact: str = Field(default="", max_length=200)

    # Analysis results; analyzed_at IS NULL means "still in the outbox".
    analyzed_at: datetime | None = time_field()
    # Failed processing attempts (not transient ones): after MAX_PROCESS_ATTEMPTS the outbox
    # sweep stops re-sending the mention; it stays stored with its error for a person to look at.
    process_attempts: int = 0
    process_error: str = Field(default="", max_length=1000)
    # When it was last put on the queue (NULL: not queued); the outbox sweep leaves it alone
    # for settings.sweep_requeue_minutes after that.
    enqueued_at: datetime | None = time_field()
    # A person's correction of the topic (re-label): training data for the next model.
    label_topic: str = Field(default="", max_length=30)
    labelled_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    labelled_at: datetime | None = time_field()
    analyzer_version: str = Field(default="", max_length=20)
    topics: list[str] = json_list_field()
    topic_scores: dict[str, Any] = json_dict_field()
    sentiment: str = Field(default="", max_length=10)
    sentiment_score: float = 0.0
    places: list[str] = json_list_field()
    relevant: bool = False
    risk: float = 0.0
    sensitive_terms: list[str] = json_list_field()
    simhash: str = Field(default="", max_length=16)  # 64-bit hex
    simhash_b0: int | None = None
    simhash_b1: int | None = None
    simhash_b2: int | None = None
    simhash_b3: int | None = None
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)


class MentionPublic(MentionBase):
    id: int
    source_id: int | None
    created_at: datetime
    analyzed_at: datetime | None
    topics: list[str]
    sentiment: str
    places: list[str]
    relevant: bool
    risk: float
    event_id: int | None
    process_attempts: int
    process_error: str
    label_topic: str


@sa.event.listens_for(Mention, "before_insert")
def _set_seen_at(_mapper: Any, _connection: Any, target: Mention) -> None:
    if target.seen_at is None:
        target.seen_at = target.published_at or target.created_at


class MentionDay(SQLModel, table=True):
    """Mentions per Asia/Shanghai day (the day of seen_at) and the dimensions the dashboard, the
    briefing and the annual report count by: kept by core.mentions.rollup in the transaction of
    every write that stores a mention or changes one of these, so a year's figures read ~2k rows
    instead of a million mentions."""

    __tablename__ = "mention_day"

    day: date = Field(primary_key=True)
    channel: str = Field(primary_key=True, max_length=20)
    sentiment: str = Field(primary_key=True, max_length=10)  # "" until analyzed
    dated: bool = Field(primary_key=True)  # published_at known (the annual report counts those)
    n: int = 0


# The per-day counts follow every ORM write of a mention (after_flush hook): loaded with the model.
import core.mentions.rollup  # noqa: E402,F401
