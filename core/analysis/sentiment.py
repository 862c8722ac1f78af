"""Lexicon sentiment with negation, emoticons/emoji and Weibo-style sarcasm."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.analysis.config import SentimentLexicon
from core.analysis.normalize import Normalized
from core.analysis.terms import TermMatcher

# Official / news register: informative posts are neutral unless clearly emotional.
NEWS_MARKERS: tuple[str, ...] = (
    "通知",
    "公告",
    "通告",
    "温馨提示",
    "提醒",
    "获悉",
    "记者",
    "据了解",
    "日前",
    "近日",
    "召开",
    "开展",
    "启动",
    "部署",
    "印发",
    "发布",
    "会议",
    "据悉",
    "截至",
    "讯",
    "【",
    "安排",
    "工作人员表示",
    "答复",
    "回复",
    "经核实",
    "将于",
    "办理流程",
    "咨询",
)


# a negation just before an achievement cancels it (尚未全部清理, 没有恢复供水)
ACHIEVEMENT_NEGATION: tuple[str, ...] = ("未", "没", "不", "无法", "尚未", "还没", "仍未")


@dataclass
class SentimentResult:
    """Label, score in -1..1 and the evidence used."""

    label: str
    score: float
    raw: float
    positive: list[str] = field(default_factory=list)
    negative: list[str] = field(default_factory=list)
    emoticons: list[str] = field(default_factory=list)
    sarcasm: bool = False
    news_register: bool = False
    achievement: float = 0.0


def _negated(text: str, start: int, negation: tuple[str, ...]) -> bool:
    window = text[max(0, start - 3) : start]
    return any(n in window for n in negation)


_matchers: dict[int, tuple[SentimentLexicon, TermMatcher]] = {}


def _matcher(lex: SentimentLexicon) -> TermMatcher:
    entry = _matchers.get(id(lex))
    if entry is None or entry[0] is not lex:
        terms = [*lex.positive, *lex.negative, *lex.sarcasm_markers, *lex.negative_context]
        entry = (lex, TermMatcher(terms))
        _matchers.clear()
        _matchers[id(lex)] = entry
    return entry[1]


def score_sentiment(
    norm: Normalized,
    lex: SentimentLexicon,
    grams: set[str] | None = None,
    present: set[str] | None = None,
) -> SentimentResult:
    """Score one normalized post (`present`: terms already found by a combined matcher)."""
    text = norm.text
    if present is None:
        present = _matcher(lex).find_set(text, grams)
    pos_terms: list[str] = []
    neg_terms: list[str] = []
    pos = 0.0
    neg = 0.0
    for term in sorted(present.intersection(lex.positive)):
        weight = lex.positive[term]
        idx = text.find(term)
        if _negated(text, idx, lex.negation):
            neg += weight * 0.8
            neg_terms.append("不" + term)
        else:
            pos += weight
            pos_terms.append(term)
    for term in sorted(present.intersection(lex.negative)):
        weight = lex.negative[term]
        neg += weight
        neg_terms.append(term)
    # Achievements and relief (积雪全部清理, 喜领新房钥匙, 投诉量同比下降): positive.
    ach = 0.0
    for regex, weight in lex.achievements:
        for m in regex.finditer(text):
            if _negated(text, m.start(), ACHIEVEMENT_NEGATION):
                continue
            ach += weight
            pos_terms.append("~" + m.group(0))
            break
    pos += ach
    emo_score = 0.0
    emo_used: list[str] = []
    for emo in norm.emoticons:
        w = lex.emoticons.get(emo)
        if w is not None:
            emo_score += w
            emo_used.append(f"[{emo}]")
    for e in norm.emoji:
        w = lex.emoji.get(e)
        if w is None and len(e) > 1:
            w = sum(lex.emoji.get(ch, 0.0) for ch in e)
        if w:
            emo_score += w
            emo_used.append(e)
    # sarcasm: praise words in a complaint context, flagged by markers or knowing emoticons
    sarcasm = False
    if pos > 0:
        marker = any(m in present for m in lex.sarcasm_markers)
        knowing = any(e in lex.sarcastic_emoticons for e in norm.emoticons) or any(
            e in ("🙂", "🙄", "😅") for e in norm.emoji
        )
        context = sum(1 for c in lex.negative_context if c in present)
        if (knowing and (context >= 1 or neg > 0)) or (marker and (context >= 2 or neg >= 1.0)):
            sarcasm = True
            neg += pos
            pos = 0.0
            ach = 0.0
            if emo_score > 0:
                emo_score = -emo_score
    news = sum(1 for m in NEWS_MARKERS if m in text) >= 2 and not norm.emoticons
    raw = pos - neg + emo_score
    if "?" in text or "？" in text:
        raw -= 0.15 * min(3, text.count("?") + text.count("？")) if neg > 0 else 0.0
    if "!" in text or "！" in text:
        raw *= 1.15
    if news:
        raw = (raw - ach) * 0.45 + ach  # reports of work done stay positive
    score = math.tanh(raw / 2.0)
    if raw <= -0.7:
        label = "negative"
    elif raw >= 0.8:
        label = "positive"
    else:
        label = "neutral"
    return SentimentResult(
        label=label,
        score=round(score, 4),
        raw=round(raw, 3),
        positive=pos_terms,
        negative=neg_terms,
        emoticons=emo_used,
        sarcasm=sarcasm,
        news_register=news,
        achievement=round(ach, 3),
    )
