"""Event risk grading (I–IV) with a one-line Chinese explanation."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.analysis.config import load_taxonomy

# score thresholds for grades, highest first
GRADE_THRESHOLDS: tuple[tuple[str, float], ...] = (("I", 0.8), ("II", 0.62), ("III", 0.42), ("IV", 0.3))
# sensitive terms that on their own put a relevant event at least at grade III / II
_FLOOR_III = {"伤亡", "死亡", "身亡", "遇难", "爆炸", "火灾", "坍塌", "跳楼", "集体上访", "溺亡"}
_FLOOR_II_WITH_CROWD = {"聚集", "群体", "群体性", "围堵", "堵路", "拉横幅", "集体上访", "游行", "静坐"}


@dataclass(frozen=True)
class RiskFactors:
    """The individual 0..1 factors that make up an event's risk score."""

    volume: float
    engagement: float
    velocity: float
    growth_ratio: float
    negativity: float
    sensitivity: float
    media: float
    relevance: float
    mention_risk: float


def _factors(
    *,
    mention_count: int,
    engagement: int,
    engagement_2h_ago: int,
    negative_ratio: float,
    sensitive_terms: list[str],
    media_involved: bool,
    relevant: bool,
    max_risk: float,
) -> RiskFactors:
    weights = load_taxonomy().sensitive_terms
    volume = min(1.0, math.log10(1 + max(0, mention_count)) / 2.5)  # ~300 mentions → 1
    eng = min(1.0, math.log10(1 + max(0, engagement)) / 5.0)  # 100k interactions → 1
    before = max(0, engagement_2h_ago)
    growth = (max(0, engagement) + 1) / (before + 1)
    # velocity needs both growth and some absolute increase to matter
    increase = max(0, engagement - before)
    velocity = 0.0
    if growth > 1.0 and increase >= 20:
        velocity = min(1.0, math.log2(growth) / 4.0) * min(1.0, math.log10(1 + increase) / 3.0)
    sens_w = sorted((weights.get(t, 0.5) for t in sensitive_terms), reverse=True)
    sensitivity = min(1.0, sens_w[0] + 0.2 * sum(sens_w[1:3])) if sens_w else 0.0
    return RiskFactors(
        volume=volume,
        engagement=eng,
        velocity=velocity,
        growth_ratio=growth,
        negativity=min(1.0, max(0.0, negative_ratio)),
        sensitivity=sensitivity,
        media=1.0 if media_involved else 0.0,
        relevance=1.0 if relevant else 0.0,
        mention_risk=min(1.0, max(0.0, max_risk)),
    )


def _score(f: RiskFactors) -> float:
    base = (
        0.14 * f.volume
        + 0.18 * f.engagement
        + 0.16 * f.velocity
        + 0.14 * f.negativity
        + 0.2 * f.sensitivity
        + 0.08 * f.media
        + 0.1 * f.mention_risk
    )
    # the combination of heat and a sensitive/negative signal is what makes an event serious
    heat = max(f.engagement, f.volume, f.velocity)
    base += 0.2 * heat * max(f.sensitivity, f.negativity)
    if not f.relevance:
        base *= 0.55
    return min(1.0, max(0.0, base))


def risk_explanation(
    *,
    mention_count: int,
    engagement: int,
    engagement_2h_ago: int,
    negative_ratio: float,
    sensitive_terms: list[str],
    media_involved: bool,
    relevant: bool,
    max_risk: float = 0.0,
) -> str:
    """A one-line Chinese reason naming the strongest risk signals (the reason grade_event gives)."""
    return grade_event(mention_count=mention_count, engagement=engagement, engagement_2h_ago=engagement_2h_ago,
                       negative_ratio=negative_ratio, sensitive_terms=sensitive_terms,
                       media_involved=media_involved, relevant=relevant, max_risk=max_risk)[2]


def _reason(f: RiskFactors, mention_count: int, engagement: int, engagement_2h_ago: int,
            sensitive_terms: list[str]) -> str:
    parts: list[str] = []
    if f.velocity >= 0.2 and engagement_2h_ago <= 0:
        # Nothing two hours ago: a multiple of zero means nothing to a reader.
        parts.append(f"2小时内新增转评赞{engagement}")
    elif f.velocity >= 0.2:
        ratio = f.growth_ratio
        ratio_text = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}".rstrip("0").rstrip(".")
        parts.append(f"转评量2小时内增长{ratio_text}倍")
    elif engagement >= 1000:
        parts.append(f"转评赞累计{engagement}")
    if mention_count >= 20:
        parts.append(f"相关信息{mention_count}条")
    if sensitive_terms:
        parts.append("含" + "、".join(f"'{t}'" for t in sensitive_terms[:3]))
    if f.negativity >= 0.6:
        parts.append(f"负面占比{round(f.negativity * 100)}%")
    if f.media:
        parts.append("已有媒体介入")
    if not f.relevance:
        parts.append("未确认属本辖区")
    if not parts:
        parts.append("热度和敏感度均较低")
    return "，".join(parts)


def grade_event(
    *,
    mention_count: int,
    engagement: int,
    engagement_2h_ago: int,
    negative_ratio: float,
    sensitive_terms: list[str],
    media_involved: bool,
    relevant: bool,
    max_risk: float,
) -> tuple[str | None, float, str]:
    """Grade an event I (特别重大) .. IV (一般), or None; returns (grade, score, reason)."""
    f = _factors(
        mention_count=mention_count,
        engagement=engagement,
        engagement_2h_ago=engagement_2h_ago,
        negative_ratio=negative_ratio,
        sensitive_terms=sensitive_terms,
        media_involved=media_involved,
        relevant=relevant,
        max_risk=max_risk,
    )
    score = _score(f)
    grade: str | None = None
    for name, threshold in GRADE_THRESHOLDS:
        if score >= threshold:
            grade = name
            break
    terms = set(sensitive_terms)
    if relevant:
        floor: str | None = None
        if terms & _FLOOR_III:
            floor = "III"
        if terms & _FLOOR_II_WITH_CROWD and (f.engagement >= 0.6 or f.volume >= 0.6 or f.velocity >= 0.4):
            floor = "II"
        if floor is not None and (grade is None or _rank(grade) > _rank(floor)):
            grade = floor
            score = max(score, dict(GRADE_THRESHOLDS)[floor])
    return grade, round(score, 4), _reason(f, mention_count, engagement, engagement_2h_ago, sensitive_terms)


def _rank(grade: str) -> int:
    return {"I": 1, "II": 2, "III": 3, "IV": 4}[grade]
