"""The analysis pipeline for one mention: normalize → tokens → topics, sentiment, places, risk."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from core.analysis.config import (
    TOPIC_CODES,
    Gazetteer,
    SentimentLexicon,
    Taxonomy,
    load_gazetteer,
    load_sentiment,
    load_taxonomy,
)
from core.analysis.features import fast_char_grams
from core.analysis.hazards import find_hazards, load_hazards
from core.analysis.model import (
    LinearTextModel,
    doc_features,
    forget_models,
    get_default_models,
    load_bundle,
)
from core.analysis.normalize import normalize
from core.analysis.places import match_places
from core.analysis.relevance import judge, load_relevance
from core.analysis.rules import RuleHit, find_sensitive, other_signal, score_rules
from core.analysis.sentiment import SentimentResult, score_sentiment
from core.analysis.settings import get_paths
from core.analysis.simhash import simhash, simhash_tokens
from core.analysis.terms import TermMatcher
from core.analysis.tokenizer import get_tokenizer, tokenize

ANALYZER_VERSION = "1.4.0"

# blend of model probability and rule score (tuned by 5-fold CV on the shipped set)
MODEL_WEIGHT = 1.0
RULE_WEIGHT = 0.4
OTHER_RULE_WEIGHT = 0.1
OTHER_SIGNAL_WEIGHT = 0.5
SECONDARY_THRESHOLD = 0.3
# weight of the lexicon score added to the sentiment model's decision values
LEXICON_WEIGHT = 0.5
ACHIEVEMENT_WEIGHT = 0.5
SENTIMENT_LABELS = ("negative", "neutral", "positive")
RULES_ONLY_THRESHOLD = 0.45
# ceiling of per-mention risk for posts that are no public matter of the area
NOT_PUBLIC_RISK = 0.05

_CHINA_TZ = timezone(timedelta(hours=8))

# topic → base contribution to per-mention risk
_TOPIC_RISK: dict[str, float] = {
    "safety": 0.3,
    "relocation": 0.2,
    "heating": 0.15,
    "utilities": 0.15,
    "welfare": 0.12,
    "snow": 0.1,
    "property": 0.08,
    "parking": 0.06,
    "noise": 0.06,
    "construction": 0.08,
    "facilities": 0.08,
    "other": 0.0,
}


@dataclass(frozen=True)
class Analysis:
    """The result of analysing one mention (pure data; JSON-friendly fields)."""

    topics: list[str]
    topic_scores: dict[str, float]
    sentiment: str
    sentiment_score: float
    places: list[str]
    relevant: bool
    risk: float
    sensitive_terms: list[str]
    simhash: int
    tokens: list[str]
    explain: dict[str, object]


def _month(published_at: datetime | None) -> int:
    when = published_at or datetime.now(tz=_CHINA_TZ)
    if when.tzinfo is not None:
        when = when.astimezone(_CHINA_TZ)
    return when.month


def combine_topics(
    rule_hits: dict[str, RuleHit], model_probs: dict[str, float] | None, other_signal: float = 0.0
) -> tuple[list[str], dict[str, float]]:
    """Blend rule scores and model probabilities into ranked topic codes and 0..1 scores."""
    scores: dict[str, float] = {}
    max_rule = max((h.score for h in rule_hits.values()), default=0.0)
    if model_probs is None:
        damp = 1.0 - 0.6 * other_signal
        max_rule *= damp
        for code in TOPIC_CODES:
            if code != "other":
                base = rule_hits[code].score if code in rule_hits else 0.0
                scores[code] = round(base * damp, 4)
        scores["other"] = round(max(0.0, 1.0 - max_rule / RULES_ONLY_THRESHOLD) * 0.5 + 0.05, 4)
        ranked = sorted((c for c in scores if c != "other"), key=lambda c: -scores[c])
        if not ranked or scores[ranked[0]] < RULES_ONLY_THRESHOLD:
            return ["other"], scores
        return [c for c in ranked if scores[c] >= RULES_ONLY_THRESHOLD], scores
    total = MODEL_WEIGHT + RULE_WEIGHT
    for code in TOPIC_CODES:
        p = model_probs.get(code, 0.0)
        if code == "other":
            value = MODEL_WEIGHT * p + OTHER_RULE_WEIGHT * (1.0 - max_rule) + OTHER_SIGNAL_WEIGHT * other_signal
        else:
            r = rule_hits[code].score if code in rule_hits else 0.0
            value = MODEL_WEIGHT * p + RULE_WEIGHT * r
        scores[code] = round(value / total, 4)
    ranked = sorted(scores, key=lambda c: -scores[c])
    primary = ranked[0]
    if primary == "other":
        return ["other"], scores
    topics = [primary] + [c for c in ranked[1:] if c != "other" and scores[c] >= SECONDARY_THRESHOLD]
    return topics, scores


def mention_risk(
    *, topics: list[str], sentiment_score: float, sensitive: list[str], relevant: bool, taxonomy: Taxonomy
) -> float:
    """Per-mention risk in 0..1 from negativity, sensitive terms, topic and relevance."""
    weights = sorted((taxonomy.sensitive_terms.get(t, 0.5) for t in sensitive), reverse=True)
    sens = 0.0
    if weights:
        sens = min(1.0, weights[0] + 0.15 * sum(weights[1:3]))
    neg = max(0.0, -sentiment_score)
    topic_part = max((_TOPIC_RISK.get(t, 0.05) for t in topics), default=0.0)
    risk = 0.1 + 0.4 * sens + 0.3 * neg + topic_part
    if not relevant:
        risk *= 0.7
    if topics == ["other"] and not sensitive:
        risk *= 0.5
    return round(min(1.0, max(0.0, risk)), 4)


class Analyzer:
    """Holds configuration and (optionally) a topic model; `analyze` is a pure function of it."""

    def __init__(
        self,
        model: LinearTextModel | None = None,
        *,
        sentiment_model: LinearTextModel | None = None,
        use_default_model: bool = True,
    ) -> None:
        self.taxonomy = load_taxonomy()
        self.lexicon = load_sentiment()
        self.gazetteer = load_gazetteer()
        self.relevance = load_relevance(self.gazetteer)
        get_tokenizer()
        self.matcher = _combined_matcher(self.taxonomy, self.lexicon, self.gazetteer)
        if use_default_model and (model is None or sentiment_model is None):
            paths = get_paths()
            bundle = get_default_models(paths.topic_model, paths.training_set)
            model = model or bundle.get("topic")
            sentiment_model = sentiment_model or bundle.get("sentiment")
        self.model = model
        self.sentiment_model = (
            sentiment_model
            if sentiment_model is not None and set(sentiment_model.classes) == set(SENTIMENT_LABELS)
            else None
        )
        self.model_is_taxonomy = model is not None and set(model.classes) <= set(TOPIC_CODES)

    def _sentiment(
        self, senti: SentimentResult, decision: np.ndarray | None
    ) -> tuple[str, float, dict[str, float] | None]:
        return _sentiment_impl(self.sentiment_model, senti, decision)

    def analyze(self, text: str, *, title: str = "", published_at: datetime | None = None) -> Analysis:
        """Analyse one mention."""
        norm_body = normalize(text or "")
        title_tokens: list[str] = []
        if title:
            norm_title = normalize(title)
            body = norm_body.text
            full = (norm_title.text + "。" + body) if body else norm_title.text
            norm_body.emoticons = norm_title.emoticons + norm_body.emoticons
            norm_body.emoji = norm_title.emoji + norm_body.emoji
            norm_body.text = full
            # The cutter splits at "。" (no word character) and drops it: the text's tokens are the
            # title's then the body's, and the title is cut once for both uses.
            title_tokens = tokenize(norm_title.text)
            tokens = title_tokens + tokenize(body) if body else title_tokens
        else:
            norm_title = None
            full = norm_body.text
            tokens = tokenize(full)
        month = _month(published_at)
        chars = fast_char_grams(full)
        grams = set(chars)  # character uni/bigrams: shared by term matching and features
        present = self.matcher.find_set(full, grams)
        rule_hits = score_rules(full, self.taxonomy, month, present, grams)
        other_sig, other_terms = other_signal(present, self.taxonomy)
        model_probs: dict[str, float] | None = None
        custom_probs: dict[str, float] | None = None
        feats: list[str] = []
        if self.model is not None or self.sentiment_model is not None:
            if norm_title is not None and norm_title.text:
                feats = doc_features(full, tokens, norm_title.text, title_tokens, chars)
            else:
                feats = doc_features(full, tokens, chars=chars)
        vectors: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if self.model is not None:
            probs = self.model.proba_from_decision(self.model.decision_vec(_vector(self.model, feats, vectors)))
            if self.model_is_taxonomy:
                model_probs = probs
            else:
                custom_probs = probs
        if custom_probs is not None:
            ranked = sorted(custom_probs, key=lambda c: -custom_probs[c])
            topics = [ranked[0]] + [c for c in ranked[1:] if custom_probs[c] >= SECONDARY_THRESHOLD]
            topic_scores = {c: round(p, 4) for c, p in custom_probs.items()}
        else:
            topics, topic_scores = combine_topics(rule_hits, model_probs, other_sig)
        senti = score_sentiment(norm_body, self.lexicon, grams, present)
        senti_decision = (
            self.sentiment_model.decision_vec(_vector(self.sentiment_model, feats, vectors))
            if self.sentiment_model is not None
            else None
        )
        senti_label, senti_score, senti_model = self._sentiment(senti, senti_decision)
        place = match_places(full, self.gazetteer, grams, present)
        sensitive = find_sensitive(full, self.taxonomy, present)
        hazards = find_hazards(full)
        sensitive.extend(h.term for h in hazards if h.term not in sensitive)
        verdict = judge(full, place, self.gazetteer, self.relevance, grams, tokens)
        relevant = place.relevant
        ignored: list[str] = []
        if not verdict.public and custom_probs is None:
            # Relevance before topic: not a public matter of the area → other, low risk, no alert.
            best = max(topic_scores.values(), default=0.0)
            topic_scores = {**topic_scores, "other": round(max(topic_scores.get("other", 0.0), best + 0.01), 4)}
            topics = ["other"]
            relevant = False
            ignored, sensitive, hazards = sensitive, [], []
        if hazards and verdict.public and "safety" not in topics:
            # a hazard told without the topic's words is still a safety matter (at least secondary)
            topics = ["safety"] if topics == ["other"] else [*topics, "safety"]
        risk = mention_risk(
            topics=topics,
            sentiment_score=senti_score,
            sensitive=sensitive,
            relevant=relevant,
            taxonomy=self.taxonomy,
        )
        if not verdict.public and custom_probs is None:
            risk = min(risk, NOT_PUBLIC_RISK)
        explain: dict[str, object] = {
            "analyzer_version": ANALYZER_VERSION,
            "rules": {
                code: {
                    "score": round(hit.score, 4),
                    "matched": hit.matched,
                    "excluded": hit.excluded,
                    **({"off_season": True} if hit.off_season else {}),
                }
                for code, hit in sorted(rule_hits.items(), key=lambda kv: -kv[1].score)
            },
            "model": (
                {
                    c: round(p, 4)
                    for c, p in sorted((model_probs or custom_probs or {}).items(), key=lambda kv: -kv[1])[:5]
                }
                if self.model is not None
                else None
            ),
            "places": place.places,
            "place_levels": place.levels,
            "relevance": place.reason if verdict.public else "；".join(verdict.reasons) + "，归入其他",
            "public_matter": verdict.public,
            **({"not_public": {"category": verdict.category, "reasons": verdict.reasons,
                               "elsewhere": verdict.elsewhere, "ignored_sensitive_terms": ignored}}
               if not verdict.public else {}),
            "sentiment": {
                "model": senti_model,
                "lexicon": senti.raw,
                "positive": senti.positive,
                "negative": senti.negative,
                "emoticons": senti.emoticons,
                "sarcasm": senti.sarcasm,
                "news_register": senti.news_register,
                "achievement": senti.achievement,
            },
            "sensitive_terms": sensitive,
            **({"hazards": [{"family": h.family, "term": h.term, "floor": h.floor, "matched": h.matched}
                            for h in hazards]} if hazards else {}),
            "other_signals": other_terms,
            "month": month,
            "traditional_converted": norm_body.converted,
            "hashtags": norm_body.hashtags,
            "repost": norm_body.is_repost,
        }
        return Analysis(
            topics=topics,
            topic_scores=topic_scores,
            sentiment=senti_label,
            sentiment_score=senti_score,
            places=place.places,
            relevant=relevant,
            risk=risk,
            sensitive_terms=sensitive,
            simhash=(simhash(tokenize(norm_body.repost_root)) if norm_body.repost_root else simhash_tokens(tokens)),
            tokens=tokens,
            explain=explain,
        )


def _combined_matcher(taxonomy: Taxonomy, lexicon: SentimentLexicon, gazetteer: Gazetteer) -> TermMatcher:
    """One matcher over every configured term: topic rules, sentiment lexicon, place names."""
    terms: list[str] = [*taxonomy.sensitive_terms, *taxonomy.other_signals]
    for rule in taxonomy.topics.values():
        terms.extend(rule.keywords)
        terms.extend(rule.exclude)
    terms.extend(lexicon.positive)
    terms.extend(lexicon.negative)
    terms.extend(lexicon.sarcasm_markers)
    terms.extend(lexicon.negative_context)
    terms.extend(gazetteer.alias_to_place)
    return TermMatcher(terms)


def _vector(
    model: LinearTextModel, feats: list[str], cache: dict[int, tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorise once per distinct vocabulary (topic and sentiment models usually share one)."""
    key = id(model.vocab)
    vec = cache.get(key)
    if vec is None:
        vec = model.transform_list(feats)
        cache[key] = vec
    return vec


def _sentiment_impl(
    model: LinearTextModel | None, senti: SentimentResult, decision: np.ndarray | None
) -> tuple[str, float, dict[str, float] | None]:
    """Blend the sentiment model's decision values with the lexicon; sarcasm forces negative."""
    if model is None or decision is None:
        return senti.label, senti.score, None
    dec = dict(zip(model.classes, decision.tolist(), strict=True))
    lex = max(-3.0, min(3.0, senti.raw))
    dec["negative"] -= LEXICON_WEIGHT * lex
    dec["positive"] += LEXICON_WEIGHT * lex
    # reports of work done read "neutral" to a model trained mostly on complaints
    dec["positive"] += ACHIEVEMENT_WEIGHT * min(2.0, senti.achievement)
    if senti.sarcasm:
        dec["negative"] = max(dec.values()) + 0.5
    label = max(SENTIMENT_LABELS, key=lambda c: dec[c])
    polarity = math.tanh((dec["positive"] - dec["negative"]) / 1.5)
    if label == "neutral":
        polarity *= 0.4
    return label, round(polarity, 4), {k: round(v, 3) for k, v in dec.items()}


_default: Analyzer | None = None
_default_stamp: tuple[str, float | None] | None = None
_last_check = 0.0
_by_path: dict[str, Analyzer] = {}
RELOAD_CHECK_SECONDS = 30.0


def _model_stamp() -> tuple[str, float | None]:
    path = get_paths().topic_model
    try:
        return str(path), path.stat().st_mtime
    except OSError:
        return str(path), None


def get_analyzer(model_path: str | None = None) -> Analyzer:
    """The process-wide analyzer (default model), or one bound to the model file at model_path.

    The default analyzer notices (within RELOAD_CHECK_SECONDS) when the model file at
    YUQING_TOPIC_MODEL_PATH is replaced, e.g. by a retraining with duty-officer corrections.
    """
    global _default, _default_stamp, _last_check
    if model_path:
        key = str(Path(model_path).resolve())
        an = _by_path.get(key)
        if an is None:
            bundle = load_bundle(model_path)
            an = Analyzer(bundle["topic"], sentiment_model=bundle.get("sentiment"))
            _by_path[key] = an
        return an
    now = time.monotonic()
    if _default is not None and now - _last_check >= RELOAD_CHECK_SECONDS:
        _last_check = now
        if _model_stamp() != _default_stamp:
            forget_models()
            _default = None
    if _default is None:
        _default = Analyzer()
        _default_stamp = _model_stamp()
        _last_check = now
    return _default


def reset_analyzers() -> None:
    """Forget cached analyzers (after configuration or model changes)."""
    global _default
    _default = None
    _by_path.clear()


def analyze(text: str, *, title: str = "", published_at: datetime | None = None) -> Analysis:
    """Analyse one mention with the default configuration and model."""
    return get_analyzer().analyze(text, title=title, published_at=published_at)


def config_fingerprint() -> str:
    """A short digest of the loaded configuration (for cache keys)."""
    tax, lex, gaz = load_taxonomy(), load_sentiment(), load_gazetteer()
    rel = load_relevance(gaz)
    key = f"{ANALYZER_VERSION}:{tax.digest}:{lex.digest}:{gaz.digest}:{rel.digest}:{load_hazards().digest}"
    return hashlib.sha1(key.encode()).hexdigest()[:12]
