"""The taxonomy rules and the gazetteer as people read them (admin pages); no analysis stack loaded."""

from __future__ import annotations

from pydantic import BaseModel

from core.analysis.config import load_gazetteer, load_taxonomy


class TopicInfo(BaseModel):
    code: str
    label: str
    keywords: dict[str, float]
    patterns: list[str]
    exclude: dict[str, float]
    season_months: list[int] | None  # None: all year


class TaxonomyInfo(BaseModel):
    topics: list[TopicInfo]
    sensitive_terms: dict[str, float]
    off_season_factor: float
    digest: str


class PlaceInfo(BaseModel):
    name: str
    level: str
    aliases: list[str]
    ambiguous: bool


class GazetteerInfo(BaseModel):
    jurisdiction: str
    relevant_levels: list[str]
    context_levels: list[str]
    places: list[PlaceInfo]
    digest: str


def taxonomy() -> TaxonomyInfo:
    """The topic rules in force (from YUQING_TAXONOMY_PATH)."""
    tax = load_taxonomy()
    return TaxonomyInfo(
        topics=[TopicInfo(code=t.code, label=t.label, keywords=dict(t.keywords),
                          patterns=[p.regex.pattern for p in t.patterns], exclude=dict(t.exclude),
                          season_months=sorted(t.season) if t.season else None)
                for t in tax.topics.values()],
        sensitive_terms=dict(tax.sensitive_terms), off_season_factor=tax.off_season_factor,
        digest=tax.digest)


def gazetteer() -> GazetteerInfo:
    """The jurisdiction's place names in force (from YUQING_GAZETTEER_PATH)."""
    gaz = load_gazetteer()
    return GazetteerInfo(
        jurisdiction=gaz.jurisdiction, relevant_levels=sorted(gaz.relevant_levels),
        context_levels=sorted(gaz.context_levels),
        places=[PlaceInfo(name=p.name, level=p.level, aliases=list(p.aliases), ambiguous=p.ambiguous)
                for p in gaz.places],
        digest=gaz.digest)
