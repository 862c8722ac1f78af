"""How a 专题 decides that a mention belongs to it (pure functions, no database).

Matching is on the title and the text together, both folded the way core.analysis.normalize
folds text for analysis: full-width → half-width, traditional → simplified (character by
character, with OpenCC's table); then Latin letters
lower-cased and runs of white space made one space. The keywords are folded the same way, so
「南站動遷」, 「南站动迁」 and a full-width 「ＷｉＦｉ」 all match the rule word 南站动迁 / wifi.
A keyword matches as a substring (Chinese has no spaces to cut words on).

- all_words: every word must occur (an empty list asks nothing);
- any_words: at least one must occur (an empty list asks nothing);
- none_words: no word may occur;
- places: at least one of them is among the mention's places (the gazetteer names the analysis
  found, `Mention.places`); an empty list asks nothing;
- the mention was said (seen_at) on a Beijing day from starts_on to ends_on, both inclusive
  (no ends_on: still running).
A topic must ask something: at least one word in all_words or any_words, or a place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from core.analysis.normalize import _FW_CHARS, _FW_TABLE, _opencc_data
from core.timeutil import SHANGHAI, ensure_utc

_SPACE_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """The matching form of a text: half-width, simplified, lower-case, single spaces.

    Traditional characters are mapped one by one with OpenCC's own character table (the table
    normalize.to_simplified's detection uses): a keyword is matched, not rewritten, and this is
    about twenty times faster than OpenCC's phrase conversion over a long history.
    """
    if not text:
        return ""
    if not _FW_CHARS.isdisjoint(text):
        text = text.translate(_FW_TABLE)
    trad_chars, table = _opencc_data()
    if not trad_chars.isdisjoint(text):
        text = text.translate(table)
    return _SPACE_RE.sub(" ", text).lower().strip()


def clean_words(words: Iterable[str]) -> list[str]:
    """Folded, non-empty, de-duplicated keywords in their given order."""
    out: list[str] = []
    for word in words:
        folded = fold(word)
        if folded and folded not in out:
            out.append(folded)
    return out


def day_start(day: date) -> datetime:
    """Midnight of a Beijing day, in UTC."""
    return ensure_utc(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI))


@dataclass(frozen=True)
class Rules:
    all_words: tuple[str, ...] = ()
    any_words: tuple[str, ...] = ()
    none_words: tuple[str, ...] = ()
    places: frozenset[str] = frozenset()
    starts_on: date | None = None
    ends_on: date | None = None

    @classmethod
    def of(cls, track: object) -> Rules:
        """The rules of a Track row (words are stored folded already; folded again for safety)."""
        return cls(all_words=tuple(clean_words(getattr(track, "all_words", []) or [])),
                   any_words=tuple(clean_words(getattr(track, "any_words", []) or [])),
                   none_words=tuple(clean_words(getattr(track, "none_words", []) or [])),
                   places=frozenset(getattr(track, "places", []) or []),
                   starts_on=getattr(track, "starts_on", None), ends_on=getattr(track, "ends_on", None))

    @cached_property
    def since(self) -> datetime | None:
        return day_start(self.starts_on) if self.starts_on else None

    @cached_property
    def until(self) -> datetime | None:
        """The end of the range, exclusive (midnight after ends_on)."""
        return day_start(self.ends_on + timedelta(days=1)) if self.ends_on else None

    def in_range(self, seen_at: datetime | None) -> bool:
        if seen_at is None:
            return False
        seen = ensure_utc(seen_at)
        since, until = self.since, self.until
        return (since is None or seen >= since) and (until is None or seen < until)

    def matches_text(self, folded: str) -> bool:
        """The keyword rules on an already folded text."""
        if any(w not in folded for w in self.all_words):
            return False
        if self.any_words and not any(w in folded for w in self.any_words):
            return False
        return not any(w in folded for w in self.none_words)

    def matches_places(self, places: Iterable[str] | None) -> bool:
        return not self.places or not self.places.isdisjoint(places or ())

    def matches(self, *, title: str, text: str, places: Iterable[str] | None, seen_at: datetime | None) -> bool:
        """Whether a mention belongs to the topic."""
        return (self.in_range(seen_at) and self.matches_places(places)
                and self.matches_text(fold(f"{title or ''}\n{text or ''}")))
