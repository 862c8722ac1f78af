"""Items every spider yields; the pipeline turns them into core MentionCreate objects."""

from __future__ import annotations

from typing import Any

import scrapy

from core.mentions.models import MentionCreate


class MentionItem(scrapy.Item):
    """One post/article, shaped like core.mentions.models.MentionCreate (plus source_id)."""

    source_id = scrapy.Field()
    channel = scrapy.Field()
    external_id = scrapy.Field()
    url = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    author = scrapy.Field()
    published_at = scrapy.Field()  # timezone-aware UTC datetime or None
    likes = scrapy.Field()
    reposts = scrapy.Field()
    comments = scrapy.Field()
    views = scrapy.Field()
    raw = scrapy.Field()  # JSON text of what the site returned, kept as evidence
    contact = scrapy.Field()  # private contact of a hotline caller (import), never logged

    def to_mention_create(self) -> MentionCreate:
        """Validate into the core model (raises pydantic.ValidationError when invalid)."""
        data: dict[str, Any] = {k: v for k, v in self.items() if v is not None}
        return MentionCreate.model_validate(data)


# Fail at import time, not in production, if core's model and the item drift apart.
_missing = set(MentionCreate.model_fields) - set(MentionItem.fields)
if _missing:
    raise RuntimeError(f"MentionItem lacks MentionCreate fields: {sorted(_missing)}")
