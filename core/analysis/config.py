"""Loading the editable YAML configuration (taxonomy, sentiment lexicon, gazetteer)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.analysis.settings import get_paths
from core.analysis_labels import TOPIC_LABELS

TOPIC_CODES: tuple[str, ...] = (
    "parking",
    "snow",
    "relocation",
    "property",
    "heating",
    "utilities",
    "noise",
    "construction",
    "facilities",
    "safety",
    "welfare",
    "other",
)

# One list of labels for the whole system (reports and pages read it without loading analysis).
DEFAULT_TOPIC_LABELS: dict[str, str] = dict(TOPIC_LABELS)


@dataclass(frozen=True)
class RulePattern:
    """A regex rule; `first_chars` (when known) lets us skip texts it cannot match."""

    regex: re.Pattern[str]
    weight: float
    first_chars: frozenset[str] | None


def _first_chars(regex: str) -> frozenset[str] | None:
    """Characters one of which must occur in any match (None when that cannot be told)."""
    try:
        import re._parser as sre_parse  # type: ignore[import-not-found,unused-ignore]
        from re._constants import (  # type: ignore[import-not-found,unused-ignore]
            BRANCH,
            IN,
            LITERAL,
            MAX_REPEAT,
            MIN_REPEAT,
            SUBPATTERN,
        )
    except ImportError:  # pragma: no cover - other Python versions
        return None

    def first(items: Any) -> set[str] | None:
        for op, av in items:
            if op is LITERAL:
                return {chr(av)}
            if op is IN:
                out: set[str] = set()
                for iop, iav in av:
                    if iop is not LITERAL:
                        return None
                    out.add(chr(iav))
                return out
            if op is SUBPATTERN:
                return first(av[-1])
            if op is BRANCH:
                acc: set[str] = set()
                for branch in av[1]:
                    got = first(branch)
                    if got is None:
                        return None
                    acc |= got
                return acc
            if op in (MAX_REPEAT, MIN_REPEAT):
                lo, _hi, sub = av
                if lo >= 1:
                    return first(sub)
                return None
            return None
        return None

    try:
        got = first(sre_parse.parse(regex))
    except Exception:
        return None
    return frozenset(got) if got else None


@dataclass(frozen=True)
class TopicRule:
    """Editable rules for one topic."""

    code: str
    label: str
    keywords: dict[str, float]
    patterns: tuple[RulePattern, ...]
    exclude: dict[str, float]
    season: frozenset[int] | None


@dataclass(frozen=True)
class Taxonomy:
    """All topic rules plus the sensitive-term list."""

    topics: dict[str, TopicRule]
    sensitive_terms: dict[str, float]
    off_season_factor: float
    digest: str
    other_signals: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SentimentLexicon:
    """Sentiment word lists and emoticon weights."""

    positive: dict[str, float]
    negative: dict[str, float]
    negation: tuple[str, ...]
    emoticons: dict[str, float]
    emoji: dict[str, float]
    sarcasm_markers: tuple[str, ...]
    sarcastic_emoticons: frozenset[str]
    negative_context: tuple[str, ...]
    digest: str
    # achievement / relief patterns of official reports: (regex, weight)
    achievements: tuple[tuple[re.Pattern[str], float], ...] = ()


@dataclass(frozen=True)
class Place:
    """One gazetteer entry."""

    name: str
    level: str
    aliases: tuple[str, ...] = field(default_factory=tuple)
    ambiguous: bool = False


@dataclass(frozen=True)
class Gazetteer:
    """The jurisdiction's places and the alias → canonical name lookup."""

    jurisdiction: str
    places: tuple[Place, ...]
    alias_to_place: dict[str, Place]
    by_name: dict[str, Place]
    relevant_levels: frozenset[str]
    context_levels: frozenset[str]
    digest: str


def _read_yaml(path: Path) -> tuple[dict[str, Any], str]:
    raw = path.read_bytes()
    data = yaml.safe_load(raw.decode("utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at top level")
    return data, hashlib.sha1(raw).hexdigest()[:8]


def _weights(obj: Any) -> dict[str, float]:
    if not obj:
        return {}
    if isinstance(obj, list):
        return {str(k): 1.0 for k in obj}
    return {str(k): float(v) for k, v in dict(obj).items()}


@lru_cache(maxsize=4)
def _load_taxonomy(path: Path) -> Taxonomy:
    data, digest = _read_yaml(path)
    topics: dict[str, TopicRule] = {}
    for code, spec in (data.get("topics") or {}).items():
        spec = spec or {}
        pats: list[RulePattern] = []
        for item in spec.get("patterns") or []:
            regex, weight = str(item[0]), float(item[1]) if len(item) > 1 else 1.0
            pats.append(RulePattern(re.compile(regex), weight, _first_chars(regex)))
        season = spec.get("season")
        topics[str(code)] = TopicRule(
            code=str(code),
            label=str(spec.get("label") or DEFAULT_TOPIC_LABELS.get(str(code), str(code))),
            keywords=_weights(spec.get("keywords")),
            patterns=tuple(pats),
            exclude=_weights(spec.get("exclude")),
            season=frozenset(int(m) for m in season) if season else None,
        )
    if "other" not in topics:
        topics["other"] = TopicRule("other", "其他", {}, (), {}, None)
    return Taxonomy(
        topics=topics,
        sensitive_terms=_weights(data.get("sensitive_terms")),
        off_season_factor=float(data.get("off_season_factor", 0.6)),
        digest=digest,
        other_signals=_weights(data.get("other_signals")),
    )


def load_taxonomy() -> Taxonomy:
    """The taxonomy from YUQING_TAXONOMY_PATH (or the shipped default)."""
    return _load_taxonomy(get_paths().taxonomy)


@lru_cache(maxsize=4)
def _load_sentiment(path: Path) -> SentimentLexicon:
    data, digest = _read_yaml(path)
    sarcasm = data.get("sarcasm") or {}
    return SentimentLexicon(
        positive=_weights(data.get("positive")),
        negative=_weights(data.get("negative")),
        negation=tuple(str(x) for x in data.get("negation") or ()),
        emoticons=_weights(data.get("emoticons")),
        emoji=_weights(data.get("emoji")),
        sarcasm_markers=tuple(str(x) for x in sarcasm.get("markers") or ()),
        sarcastic_emoticons=frozenset(str(x) for x in sarcasm.get("sarcastic_emoticons") or ()),
        negative_context=tuple(str(x) for x in sarcasm.get("negative_context") or ()),
        digest=digest,
        achievements=tuple((re.compile(str(p)), float(w)) for p, w in data.get("achievements") or ()),
    )


def load_sentiment() -> SentimentLexicon:
    """The sentiment lexicon from YUQING_SENTIMENT_PATH (or the shipped default)."""
    return _load_sentiment(get_paths().sentiment)


@lru_cache(maxsize=4)
def _load_gazetteer(path: Path) -> Gazetteer:
    data, digest = _read_yaml(path)
    places: list[Place] = []
    lookup: dict[str, Place] = {}
    for item in data.get("places") or []:
        place = Place(
            name=str(item["name"]),
            level=str(item.get("level", "landmark")),
            aliases=tuple(str(a) for a in item.get("aliases") or ()),
            ambiguous=bool(item.get("ambiguous", False)),
        )
        places.append(place)
        for alias in (place.name, *place.aliases):
            lookup.setdefault(alias, place)
    return Gazetteer(
        jurisdiction=str(data.get("jurisdiction", "")),
        places=tuple(places),
        alias_to_place=lookup,
        by_name={p.name: p for p in places},
        relevant_levels=frozenset(
            data.get("relevant_levels") or ("subdistrict", "community", "estate", "road", "landmark")
        ),
        context_levels=frozenset(data.get("context_levels") or ("city", "district")),
        digest=digest,
    )


def load_gazetteer() -> Gazetteer:
    """The gazetteer from YUQING_GAZETTEER_PATH (or the shipped default)."""
    return _load_gazetteer(get_paths().gazetteer)


def topic_labels() -> dict[str, str]:
    """code -> Chinese label, from the loaded taxonomy."""
    tax = load_taxonomy()
    labels = dict(DEFAULT_TOPIC_LABELS)
    labels.update({code: rule.label for code, rule in tax.topics.items()})
    return labels


def clear_caches() -> None:
    """Forget loaded configuration, the tokenizer and cached analyzers/models (after the
    files or the YUQING_* environment variables change)."""
    from core.analysis.analyzer import reset_analyzers
    from core.analysis.model import forget_models
    from core.analysis.relevance import clear_relevance_cache
    from core.analysis.tokenizer import reset_tokenizer

    _load_taxonomy.cache_clear()
    _load_sentiment.cache_clear()
    _load_gazetteer.cache_clear()
    clear_relevance_cache()
    reset_tokenizer()
    forget_models()
    reset_analyzers()
