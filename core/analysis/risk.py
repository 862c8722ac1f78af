"""Event risk grading (I–IV) with a one-line Chinese explanation."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.analysis.config import load_taxonomy
from core.analysis.hazards import hazard_floors, hazard_labels

# score thresholds for grades, highest first
GRADE_THRESHOLDS: tuple[tuple[str, float], ...] = (("I", 0.8), ("II", 0.62), ("III", 0.42), ("IV", 0.3))
# 国办发〔2016〕61号: casualties or people trapped, gatherings, blocked roads, banners,
# petitions and 群体性 signals make an event at least 重大 (II) whatever its volume.
FLOOR_II_SIGNALS: dict[str, str] = {
    **dict.fromkeys(("伤亡", "死亡", "身亡", "遇难", "溺亡", "丧生", "致死", "重伤", "伤者", "死者",
                     "抢救无效"), "人员伤亡"),
    **dict.fromkeys(("被困", "困在", "人员被困", "失踪"), "人员被困"),
    **dict.fromkeys(("聚集", "聚众", "群体", "群体性", "围堵", "围攻", "静坐", "游行", "罢工", "集体讨薪"),
                    "人员聚集"),
    **dict.fromkeys(("堵路", "拦路", "堵马路", "堵住路口", "封堵道路", "阻断交通"), "堵路"),
    **dict.fromkeys(("拉横幅", "横幅", "拉条幅", "条幅", "举牌"), "拉横幅"),
    **dict.fromkeys(("上访", "集体上访", "进京", "越级上访"), "上访"),
    **dict.fromkeys(("跳楼", "自杀", "轻生"), "极端行为"),
}
# signals that put an event at least at grade III (serious incidents without people hurt yet)
_FLOOR_III = {"爆炸", "火灾", "坍塌", "倒塌", "中毒", "煤气泄漏", "燃气泄漏", "强拆", "暴力执法", "冲突", "殴打",
              "受伤"}


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
    # Safety hazards told without the hazard word (core.analysis.hazards): their family's floor.
    floors = hazard_floors()
    hazards = [t for t in sensitive_terms if t in floors]
    # Posts about other places or no public matter carry no sensitive terms (see
    # core.analysis.relevance), so these floors apply whatever the volume, local or not yet
    # confirmed local.
    signals = list(dict.fromkeys(FLOOR_II_SIGNALS[t] for t in sensitive_terms if t in FLOOR_II_SIGNALS))
    if "受伤" in terms and terms & _FLOOR_III and "人员伤亡" not in signals:
        signals.insert(0, "人员伤亡")  # people hurt in a fire, explosion, collapse
    floor: str | None = None
    for t in hazards:
        if floors[t] == "II":
            if "人员被困" not in signals:
                signals.append("人员被困")
        elif floor is None or _rank(floors[t]) < _rank(floor):
            floor = floors[t]
    if terms & _FLOOR_III:
        floor = "III"
    if signals:
        floor = "II"
    if floor is not None and (grade is None or _rank(grade) > _rank(floor)):
        grade = floor
        score = max(score, dict(GRADE_THRESHOLDS)[floor])
    reason = _reason(f, mention_count, engagement, engagement_2h_ago, sensitive_terms)
    labels = hazard_labels()
    if hazards and not signals:
        reason = f"安全隐患：{'、'.join(labels[t] for t in hazards)}（至少按{floor}级提醒值班员），{reason}"
    if signals:
        reason = f"出现{'、'.join(signals)}（依国办发〔2016〕61号至少按重大舆情处置），{reason}"
    return grade, round(score, 4), reason


def _rank(grade: str) -> int:
    return {"I": 1, "II": 2, "III": 3, "IV": 4}[grade]
