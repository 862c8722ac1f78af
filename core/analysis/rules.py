"""Rule-based topic scoring: keywords, patterns, exclusions, seasonal activation."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from core.analysis.config import Taxonomy
from core.analysis.terms import TermMatcher


@dataclass
class RuleHit:
    """What the rules found for one topic."""

    raw: float = 0.0
    score: float = 0.0
    matched: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    off_season: bool = False


_matchers: dict[int, tuple[Taxonomy, TermMatcher]] = {}


def _matcher(taxonomy: Taxonomy) -> TermMatcher:
    entry = _matchers.get(id(taxonomy))
    if entry is None or entry[0] is not taxonomy:
        terms: list[str] = [*taxonomy.sensitive_terms, *taxonomy.other_signals]
        for rule in taxonomy.topics.values():
            terms.extend(rule.keywords)
            terms.extend(rule.exclude)
        entry = (taxonomy, TermMatcher(terms))
        _matchers.clear()
        _matchers[id(taxonomy)] = entry
    return entry[1]


def present_terms(text: str, taxonomy: Taxonomy, grams: set[str] | None = None) -> set[str]:
    """All taxonomy terms (keywords, exclusions, sensitive terms) present in the text."""
    return _matcher(taxonomy).find_set(text, grams)


def score_rules(
    text: str,
    taxonomy: Taxonomy,
    month: int | None,
    present: set[str] | None = None,
    grams: set[str] | None = None,
) -> dict[str, RuleHit]:
    """Score every topic's rules against normalized text; scores saturate in 0..1."""
    if grams is None:
        grams = TermMatcher.grams_of(text)
    if present is None:
        present = present_terms(text, taxonomy, grams)
    hits: dict[str, RuleHit] = {}
    for code, rule in taxonomy.topics.items():
        if code == "other":
            continue
        raw = 0.0
        matched: list[str] = []
        for kw in present.intersection(rule.keywords):
            raw += rule.keywords[kw]
            matched.append(kw)
        for pat in rule.patterns:
            if pat.first_chars is not None and pat.first_chars.isdisjoint(grams):
                continue
            m = pat.regex.search(text)
            if m:
                raw += pat.weight
                matched.append("~" + m.group(0))
        if not matched:
            continue
        matched.sort(key=lambda m: (m.startswith("~"), -len(m)))
        # overlapping keywords (停车 / 乱停车) should not be double counted too much
        raw = raw * (0.75 if len(matched) > 2 else 1.0)
        excluded: list[str] = []
        for kw in present.intersection(rule.exclude):
            raw -= rule.exclude[kw]
            excluded.append(kw)
        off_season = False
        if rule.season is not None and month is not None and month not in rule.season:
            raw *= taxonomy.off_season_factor
            off_season = True
        score = 1.0 - math.exp(-raw) if raw > 0 else 0.0
        hits[code] = RuleHit(
            raw=round(raw, 3),
            score=score,
            matched=matched,
            excluded=excluded,
            off_season=off_season,
        )
    return hits


def other_signal(present: set[str], taxonomy: Taxonomy) -> tuple[float, list[str]]:
    """How strongly the text looks like an advert/entertainment/market/elsewhere post (0..1)."""
    found = sorted(present.intersection(taxonomy.other_signals))
    raw = sum(taxonomy.other_signals[t] for t in found)
    return (1.0 - math.exp(-raw) if raw > 0 else 0.0), found


def find_sensitive(text: str, taxonomy: Taxonomy, present: set[str] | None = None) -> list[str]:
    """Sensitive terms present in the text, heaviest first."""
    if present is None:
        present = present_terms(text, taxonomy)
    found = sorted(present.intersection(taxonomy.sensitive_terms))
    # drop terms contained in a longer found term (群体 inside 群体性)
    found = [t for t in found if not any(t != o and t in o for o in found)]
    # "所幸无人员伤亡", "未发生火灾": a term that is denied everywhere it occurs is not a signal.
    found = [t for t in found if not _always_negated(text, t)]
    found.sort(key=lambda t: -taxonomy.sensitive_terms[t])
    return found


_NEGATION = re.compile(
    r"(?:无|没有|没|未|未发生|未造成|并无|并未|不存在|暂无|尚无|无一)(?:人员|人|任何|一起|重大|严重)?$")


def _always_negated(text: str, term: str) -> bool:
    """True when every occurrence of `term` follows a negation within a few characters."""
    start = text.find(term)
    if start < 0:
        return False
    while start >= 0:
        if not _NEGATION.search(text[max(0, start - 6):start]):
            return False
        start = text.find(term, start + 1)
    return True
