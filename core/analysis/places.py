"""Gazetteer matching: which of the jurisdiction's places a text names."""

from __future__ import annotations

from dataclasses import dataclass

from core.analysis.config import Gazetteer
from core.analysis.terms import TermMatcher


@dataclass(frozen=True)
class PlaceMatch:
    """Places found in a text and whether it concerns the jurisdiction."""

    places: list[str]
    levels: dict[str, str]
    relevant: bool
    reason: str


def match_places(
    text: str,
    gazetteer: Gazetteer,
    grams: set[str] | None = None,
    present: set[str] | None = None,
) -> PlaceMatch:
    """Find canonical place names (longest alias wins) and decide relevance."""
    found: dict[str, tuple[int, str]] = {}
    spans: list[tuple[int, int]] = []
    if present is None:
        present = _matcher(gazetteer).find_set(text, grams)
    present = present.intersection(gazetteer.alias_to_place)
    # longest aliases first so that 站前街道 is not also counted as 站前街
    for alias in sorted(present, key=lambda a: (-len(a), a)):
        start = text.find(alias)
        if start < 0:
            continue
        end = start + len(alias)
        if any(s <= start and end <= e for s, e in spans):
            continue
        spans.append((start, end))
        place = gazetteer.alias_to_place[alias]
        if place.name not in found or start < found[place.name][0]:
            found[place.name] = (start, place.level)
    names = sorted(found, key=lambda n: found[n][0])  # in order of appearance
    levels = {n: found[n][1] for n in names}
    anchors = [n for n in names if not gazetteer.by_name[n].ambiguous]
    fine = [
        n
        for n in names
        if levels[n] in gazetteer.relevant_levels
        and (not gazetteer.by_name[n].ambiguous or any(a != n for a in anchors))
    ]
    if fine:
        reason = "命中辖区地名：" + "、".join(fine)
        relevant = True
    elif names:
        reason = "仅命中上级或重名地名：" + "、".join(names)
        relevant = False
    else:
        reason = "未命中辖区地名"
        relevant = False
    return PlaceMatch(places=names, levels=levels, relevant=relevant, reason=reason)


_matchers: dict[int, tuple[Gazetteer, TermMatcher]] = {}


def _matcher(gazetteer: Gazetteer) -> TermMatcher:
    entry = _matchers.get(id(gazetteer))
    if entry is None or entry[0] is not gazetteer:
        entry = (gazetteer, TermMatcher(gazetteer.alias_to_place))
        _matchers.clear()
        _matchers[id(gazetteer)] = entry
    return entry[1]
