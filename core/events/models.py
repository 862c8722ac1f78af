from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, json_list_field, time_field
from core.timeutil import UTCDateTime


class EventBase(SQLModel):
    title: str = Field(default="", max_length=500)
    topic: str = Field(default="other", max_length=20, index=True)
    grade: str | None = Field(default=None, max_length=3)  # I | II | III | IV
    status: str = Field(default="open", max_length=20)  # open | closed


class Event(EventBase, table=True):
    __table_args__ = (
        # Events active in a window (last seen after its start, first seen before its end) counted
        # by grade and topic, and the most mentioned of them, without reading the wide rows.
        sa.Index("ix_event_active", "last_seen_at", "first_seen_at", "grade", "topic", "mention_count",
                 "engagement", "id"),
        # The dashboard's places of the active events: an index-only scan on PostgreSQL (the JSON list
        # carried in the index) instead of reading a year of wide event rows (1.2 s -> 75 ms at 370k).
        sa.Index("ix_event_active_places", "last_seen_at", "first_seen_at", postgresql_include=["places"]),
        # Lists by grade or topic, most recently active first.
        sa.Index("ix_event_grade_seen", "grade", "last_seen_at", "id"),
        sa.Index("ix_event_topic_seen", "topic", "last_seen_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    first_seen_at: datetime | None = time_field(index=True)
    last_seen_at: datetime | None = time_field(index=True)
    mention_count: int = 0
    engagement: int = 0  # likes + reposts + comments over all mentions
    heat: float = 0.0
    negative_count: int = 0
    relevant: bool = False
    max_risk: float = 0.0
    grade_score: float = 0.0
    grade_reason: str = Field(default="", max_length=500)
    topics: list[str] = json_list_field()
    places: list[str] = json_list_field()
    sensitive_terms: list[str] = json_list_field()
    channels: list[str] = json_list_field()
    # Whether news media report it (sources.media_involved): set when such a mention is absorbed,
    # so grading does not search all the event's mentions (and their raw JSON) every time.
    media_involved: bool = False
    # Character bigrams of the first mention's content: differently worded posts about the same
    # matter (same topic and place) are matched against these.
    story_bigrams: list[str] = json_list_field()


class EventEngagement(SQLModel, table=True):
    """Engagement an event gained per minute of storage (mention.created_at, truncated).

    Grading asks "engagement stored before 2 h ago": that is the event's total minus the last
    2 h of these rows, a handful per event, instead of a sum over all its mentions.
    Rows older than a few hours are pruned when the event is next processed.
    """

    __tablename__ = "event_engagement"

    event_id: int = Field(foreign_key="event.id", primary_key=True)
    minute: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    engagement: int = 0


class EventPublic(EventBase):
    id: int
    created_at: datetime
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    mention_count: int
    engagement: int
    heat: float
    relevant: bool
    grade_score: float
    grade_reason: str
    topics: list[str]
    places: list[str]
    sensitive_terms: list[str]
    channels: list[str]
