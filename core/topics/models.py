"""A 专题 and its link to the mentions it tags.

The class is `Track` (DESIGN's word for 专题): `Topic` already names the taxonomy codes
(parking, heating …) that every mention carries in `Mention.topics`.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, json_list_field, time_field

MAX_WORDS = 30  # per list: a rule is a handful of words, not a dictionary
MAX_WORD_CHARS = 30


class TrackBase(SQLModel):
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    # Keyword rules, matched on the normalized title + text (core.topics.rules).
    all_words: list[str] = json_list_field()   # every one must occur
    any_words: list[str] = json_list_field()   # at least one must occur (when the list is not empty)
    none_words: list[str] = json_list_field()  # none may occur
    places: list[str] = json_list_field()      # gazetteer names; at least one in mention.places
    starts_on: date  # first local (Beijing) day, inclusive
    ends_on: date | None = None  # last local day, inclusive; None: still running
    active: bool = True  # an inactive topic keeps its links but tags nothing new


class Track(TrackBase, table=True):
    __table_args__ = (sa.UniqueConstraint("name", name="uq_track_name"),)

    id: int | None = Field(default=None, primary_key=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    # When the stored history was last matched against the current rules.
    tagged_at: datetime | None = time_field()


class MentionTrack(SQLModel, table=True):
    """One mention tagged with one topic (the pair is the key: tagging twice changes nothing)."""

    __tablename__ = "mention_track"
    __table_args__ = (sa.Index("ix_mention_track_mention", "mention_id"),)

    track_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("track.id", ondelete="CASCADE"),
                                              primary_key=True))
    mention_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("mention.id", ondelete="CASCADE"),
                                                primary_key=True))
    tagged_at: datetime = created_at_field()


class TrackIn(SQLModel):
    """What a duty officer defines (create); every field optional for an edit (TrackUpdate)."""

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    all_words: list[str] = Field(default_factory=list, max_length=MAX_WORDS)
    any_words: list[str] = Field(default_factory=list, max_length=MAX_WORDS)
    none_words: list[str] = Field(default_factory=list, max_length=MAX_WORDS)
    places: list[str] = Field(default_factory=list, max_length=MAX_WORDS)
    starts_on: date
    ends_on: date | None = None
    active: bool = True


class TrackUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    all_words: list[str] | None = Field(default=None, max_length=MAX_WORDS)
    any_words: list[str] | None = Field(default=None, max_length=MAX_WORDS)
    none_words: list[str] | None = Field(default=None, max_length=MAX_WORDS)
    places: list[str] | None = Field(default=None, max_length=MAX_WORDS)
    starts_on: date | None = None
    ends_on: date | None = None
    active: bool | None = None


class TrackPublic(TrackBase):
    id: int
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    tagged_at: datetime | None
    mention_count: int = 0  # tagged mentions the caller may see
