"""Safety hazards reported without the hazard word ("楼道里一股燃气味…怀疑漏气").

Sensitive terms are words (燃气泄漏, 火灾); residents describe what they smell and see. Each
family in data/hazards.yaml turns a literal description into one sensitive term (疑似燃气泄漏,
冒烟起火, 电梯困人 …) that the grading floors know (core.analysis.risk.HAZARD_FLOORS).
Figurative uses (气得冒烟, 车胎漏气), negated mentions (没有燃气味) and hazards reported as dealt
with (已修复, 隐患已消除) add nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from core.analysis.settings import DATA_DIR

HAZARDS_PATH = DATA_DIR / "hazards.yaml"


@dataclass(frozen=True)
class Family:
    code: str
    label: str
    term: str
    floor: str
    patterns: tuple[re.Pattern[str], ...]
    figurative: tuple[re.Pattern[str], ...]
    supersedes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HazardRules:
    families: tuple[Family, ...]
    negation: re.Pattern[str]
    resolved: re.Pattern[str]
    digest: str


@dataclass(frozen=True)
class Hazard:
    """One hazard found in a post: its family, the term it adds, its floor and the words."""

    family: str
    term: str
    floor: str
    matched: str


@lru_cache(maxsize=2)
def load_hazards(path: Path = HAZARDS_PATH) -> HazardRules:
    """Read and compile data/hazards.yaml."""
    raw = path.read_bytes()
    data = yaml.safe_load(raw.decode("utf-8")) or {}
    fams: list[Family] = []
    for code, spec in (data.get("families") or {}).items():
        floor = str(spec["floor"])
        if floor not in ("I", "II", "III", "IV"):
            raise ValueError(f"hazards.yaml: {code}: floor must be I-IV, not {floor!r}")
        fams.append(Family(
            code=str(code),
            label=str(spec.get("label") or code),
            term=str(spec["term"]),
            floor=floor,
            patterns=tuple(re.compile(p) for p in spec.get("patterns") or ()),
            figurative=tuple(re.compile(p) for p in spec.get("figurative") or ()),
            supersedes=tuple(str(x) for x in spec.get("supersedes") or ()),
        ))
    return HazardRules(
        families=tuple(fams),
        negation=re.compile(str(data.get("negation") or r"(?!)")),
        resolved=re.compile(str(data.get("resolved") or r"(?!)")),
        digest=hashlib.sha1(raw).hexdigest()[:12],
    )


def _literal(text: str, m: re.Match[str], fam: Family, negation: re.Pattern[str]) -> bool:
    start, end = m.span()
    # the negation may stand before the whole phrase (没有燃气味) or before its last word (冒烟，差点起火)
    last = m.start(m.lastindex) if m.lastindex else start
    if any(negation.search(text[max(0, p - 5):p]) for p in {start, last}):
        return False
    for fig in fam.figurative:
        for f in fig.finditer(text, max(0, start - 8), min(len(text), end + 8)):
            if f.start() < end + 6 and f.end() > start - 6:
                return False
    return True


def find_hazards(text: str, rules: HazardRules | None = None) -> list[Hazard]:
    """The hazard families a post describes literally, most serious floor first."""
    rules = rules or load_hazards()
    if rules.resolved.search(text):
        return []
    found: list[Hazard] = []
    for fam in rules.families:
        for pat in fam.patterns:
            hit = next((m for m in pat.finditer(text) if _literal(text, m, fam, rules.negation)), None)
            if hit is not None:
                found.append(Hazard(fam.code, fam.term, fam.floor, hit.group(0)))
                break
    dropped = {code for fam in rules.families if any(h.family == fam.code for h in found) for code in fam.supersedes}
    found = [h for h in found if h.family not in dropped]
    order = {"I": 0, "II": 1, "III": 2, "IV": 3}
    found.sort(key=lambda h: order[h.floor])
    return found


def hazard_floors() -> dict[str, str]:
    """Sensitive term → least grade, for every configured family."""
    return {f.term: f.floor for f in load_hazards().families}


def hazard_labels() -> dict[str, str]:
    """Sensitive term → family label (for the reason of a grade)."""
    return {f.term: f.label for f in load_hazards().families}
