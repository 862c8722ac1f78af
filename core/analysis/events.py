"""In-memory near-duplicate / same-story index over SimHash bands (4 × 16 bits).

Same-story matching for differently worded posts: posts that share their primary topic and
a gazetteer place are compared by Jaccard similarity of their
character bigrams (>= story_jaccard).

Each band value keys a bucket of recent entries; a query looks only at the four buckets of
its own hash and scans at most `scan_limit` of the newest entries in each. Entries leave the
index when they fall out of the time window (expired as new mentions arrive), so the cost
per mention does not grow with the number of mentions stored over time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence, Set
from datetime import datetime, timedelta
from typing import Protocol

from core.analysis.simhash import bands, hamming

N_BANDS = 4
BAND_BITS = 16


class _HasSimhash(Protocol):
    simhash: int


def _hash_of(item: _HasSimhash | int) -> int:
    return item if isinstance(item, int) else int(item.simhash)


def _story_keys(item: object) -> list[tuple[str, str]]:
    """(primary topic, place) keys for same-story matching of differently worded posts."""
    topics = getattr(item, "topics", None)
    places = getattr(item, "places", None)
    if not topics or not places or topics[0] == "other":
        return []
    return [(str(topics[0]), str(p)) for p in places[:3]]


def content_bigrams(tokens: Sequence[str]) -> frozenset[str]:
    """Character bigrams of the content tokens (robust to paraphrase and segmentation)."""
    text = "".join(tokens)
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def jaccard(a: Set[str], b: Set[str]) -> float:
    """Share of bigrams two posts have in common."""
    return len(a & b) / len(a | b) if a and b else 0.0


def _content(item: object) -> frozenset[str]:
    return content_bigrams(getattr(item, "tokens", None) or ())


class StoryIndex:
    """add(id, analysis, time) / query(analysis, time) → candidate ids, nearest first."""

    def __init__(
        self,
        *,
        window: timedelta = timedelta(hours=72),
        max_distance: int = 12,
        bucket_cap: int = 512,
        scan_limit: int = 64,
        story_jaccard: float = 0.2,
    ) -> None:
        self.window = window
        self.max_distance = max_distance
        self.bucket_cap = bucket_cap
        self.scan_limit = scan_limit
        self.story_jaccard = story_jaccard
        self._buckets: dict[tuple[int, int], deque[tuple[datetime, Hashable, int]]] = {}
        self._stories: dict[tuple[str, str], deque[tuple[datetime, Hashable, frozenset[str]]]] = {}
        self._timeline: deque[tuple[datetime, int, list[tuple[str, str]]]] = deque()
        self._latest: datetime | None = None

    def __len__(self) -> int:
        """Mentions currently inside the window."""
        return len(self._timeline)

    def _expire(self, now: datetime) -> None:
        cutoff = now - self.window
        timeline = self._timeline
        while timeline and timeline[0][0] < cutoff:
            _when, value, skeys = timeline.popleft()
            for skey in skeys:
                story = self._stories.get(skey)
                if story is None:
                    continue
                while story and story[0][0] < cutoff:
                    story.popleft()
                if not story:
                    del self._stories[skey]
            for i, band in enumerate(bands(value, N_BANDS, BAND_BITS)):
                bucket = self._buckets.get((i, band))
                if bucket is None:
                    continue
                while bucket and bucket[0][0] < cutoff:
                    bucket.popleft()
                if not bucket:
                    del self._buckets[(i, band)]

    def add(self, mention_id: Hashable, analysis: _HasSimhash | int, time: datetime) -> None:
        """Store a mention's hash under its four band keys."""
        value = _hash_of(analysis)
        if value == 0:
            return
        if self._latest is None or time > self._latest:
            self._latest = time
            self._expire(time)
        skeys = _story_keys(analysis)
        if skeys:
            content = _content(analysis)
            for skey in skeys:
                story = self._stories.get(skey)
                if story is None:
                    story = deque(maxlen=self.bucket_cap)
                    self._stories[skey] = story
                story.append((time, mention_id, content))
        self._timeline.append((time, value, skeys))
        for i, band in enumerate(bands(value, N_BANDS, BAND_BITS)):
            key = (i, band)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = deque(maxlen=self.bucket_cap)
                self._buckets[key] = bucket
            bucket.append((time, mention_id, value))

    def query(self, analysis: _HasSimhash | int, time: datetime) -> list[Hashable]:
        """Ids of stored mentions within the window whose hash is within max_distance."""
        value = _hash_of(analysis)
        if value == 0:
            return []
        oldest = time - self.window
        newest = time + self.window
        best: dict[Hashable, int] = {}
        for i, band in enumerate(bands(value, N_BANDS, BAND_BITS)):
            bucket = self._buckets.get((i, band))
            if not bucket:
                continue
            scanned = 0
            for when, mid, other in reversed(bucket):  # newest first
                scanned += 1
                if scanned > self.scan_limit:
                    break
                if when < oldest or when > newest or mid in best:
                    continue
                dist = hamming(value, other)
                if dist <= self.max_distance:
                    best[mid] = dist
        ranked = sorted(best, key=lambda m: best[m])
        story_hits: dict[Hashable, float] = {}
        skeys = _story_keys(analysis)
        if skeys:
            content = _content(analysis)
            for skey in skeys:
                story = self._stories.get(skey)
                if not story or not content:
                    continue
                scanned = 0
                for when, mid, other_content in reversed(story):
                    scanned += 1
                    if scanned > self.scan_limit:
                        break
                    if when < oldest or when > newest or mid in best or not other_content:
                        continue
                    jac = jaccard(content, other_content)
                    if jac >= self.story_jaccard and jac > story_hits.get(mid, 0.0):
                        story_hits[mid] = jac
        ranked.extend(sorted(story_hits, key=lambda m: -story_hits[m]))
        return ranked
