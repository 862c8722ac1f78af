"""Relevance before topic: is a post about the office's area and its public matters?

A topic word is not a topic: "脑子停电了" in an exam, "供暖" one's team in a game, a TV drama
about 拆迁, a recipe that lights the gas stove, an advert for quiet renovation, a quarrel
with an online shop, or a gas accident in another province all carry topic words but are no
matter for the office. Such posts are `other` (low risk, no alert); the reasons go into
`--explain`. Categories and patterns live in data/relevance.yaml; the names of China's
provinces, cities and counties (from cpca's MIT-licensed adcode table, less the office's own
province and city) in data/china_places.txt.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from core.analysis.config import Gazetteer
from core.analysis.places import PlaceMatch
from core.analysis.settings import DATA_DIR, get_paths
from core.analysis.terms import TermMatcher


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    patterns: tuple[tuple[re.Pattern[str], float], ...]


@dataclass(frozen=True)
class RelevanceRules:
    threshold: float
    categories: tuple[Category, ...]
    elsewhere: TermMatcher
    elsewhere_words: tuple[str, ...]
    digest: str


@dataclass(frozen=True)
class Verdict:
    """Whether a post concerns a public matter of the area, and why not."""

    public: bool
    category: str = ""
    reasons: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)


@lru_cache(maxsize=4)
def _load(path: Path, places_path: Path, home: tuple[str, ...]) -> RelevanceRules:
    raw = path.read_bytes()
    data = yaml.safe_load(raw.decode("utf-8")) or {}
    cats: list[Category] = []
    for code, spec in (data.get("categories") or {}).items():
        pats = tuple((re.compile(str(p)), float(w)) for p, w in spec.get("patterns") or ())
        cats.append(Category(code=str(code), label=str(spec.get("label") or code), patterns=pats))
    names: list[str] = []
    if places_path.exists():
        home_set = set(home)
        names = [n for n in places_path.read_text(encoding="utf-8").split() if n and n not in home_set]
    digest = hashlib.sha1(raw + (places_path.read_bytes() if places_path.exists() else b"")).hexdigest()[:8]
    return RelevanceRules(
        threshold=float(data.get("threshold", 1.0)),
        categories=tuple(cats),
        elsewhere=TermMatcher(names),
        elsewhere_words=tuple(str(w) for w in data.get("elsewhere_words") or ()),
        digest=digest,
    )


def load_relevance(gazetteer: Gazetteer) -> RelevanceRules:
    """The relevance rules (next to the gazetteer, or the shipped default)."""
    paths = get_paths()
    local = paths.gazetteer.parent / "relevance.yaml"
    path = local if local.exists() else DATA_DIR / "relevance.yaml"
    places = paths.gazetteer.parent / "china_places.txt"
    places = places if places.exists() else DATA_DIR / "china_places.txt"
    return _load(path, places, tuple(sorted(gazetteer.alias_to_place)))


def judge(text: str, place: PlaceMatch, gazetteer: Gazetteer, rules: RelevanceRules,
          grams: set[str] | None = None, tokens: Iterable[str] = ()) -> Verdict:
    """Decide whether `text` is about a public matter of the jurisdiction."""
    best: tuple[float, Category | None, list[str]] = (0.0, None, [])
    for cat in rules.categories:
        score = 0.0
        hits: list[str] = []
        for regex, weight in cat.patterns:
            m = regex.search(text)
            if m:
                score += weight
                hits.append(m.group(0))
        if score > best[0]:
            best = (score, cat, hits)
    top_score, top, top_hits = best
    if top is not None and top_score >= rules.threshold:
        return Verdict(public=False, category=top.code,
                       reasons=[f"{top.label}（{'、'.join(dict.fromkeys(top_hits))}）"])
    # Another place and none of ours: news or posts from elsewhere.
    anchored = any(not gazetteer.by_name[n].ambiguous for n in place.places if n in gazetteer.by_name)
    if not anchored:
        # a two-character name must be a word of its own (某大厦门前 is not 厦门)
        words_of = set(tokens)
        others = _longest({n for n in rules.elsewhere.find_set(text, grams) if len(n) > 2 or n in words_of})
        words = [w for w in rules.elsewhere_words if w in text]
        if others or words:
            named = others + words
            return Verdict(public=False, category="elsewhere",
                           reasons=[f"说的是辖区以外的地方（{'、'.join(named[:4])}），未提及本辖区"],
                           elsewhere=named)
    return Verdict(public=True)


def _longest(found: set[str]) -> list[str]:
    """Names not contained in a longer found name (沈阳 inside 沈阳市), in a stable order."""
    return sorted((n for n in found if not any(n != o and n in o for o in found)), key=lambda n: (-len(n), n))


def clear_relevance_cache() -> None:
    """Forget loaded relevance rules (after the files change)."""
    _load.cache_clear()
