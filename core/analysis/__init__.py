"""Text analysis for 政务舆情: normalization, topics, sentiment, places, SimHash, risk.

Pure Python (jieba, scikit-learn, numpy); no web, queue or crawl imports.
"""

from __future__ import annotations

from core.analysis.analyzer import (
    ANALYZER_VERSION,
    Analysis,
    Analyzer,
    analyze,
    config_fingerprint,
    get_analyzer,
    reset_analyzers,
)
from core.analysis.config import DEFAULT_TOPIC_LABELS, TOPIC_CODES, clear_caches, topic_labels
from core.analysis.events import StoryIndex
from core.analysis.normalize import normalize
from core.analysis.risk import grade_event, risk_explanation
from core.analysis.service import classify_lines, train_model
from core.analysis.settings import get_paths
from core.analysis.simhash import bands, hamming, simhash
from core.analysis.tokenizer import get_tokenizer, tokenize

TOPIC_LABELS: dict[str, str] = dict(DEFAULT_TOPIC_LABELS)

__all__ = [
    "ANALYZER_VERSION",
    "TOPIC_CODES",
    "TOPIC_LABELS",
    "Analysis",
    "Analyzer",
    "StoryIndex",
    "analyze",
    "bands",
    "classify_lines",
    "clear_caches",
    "config_fingerprint",
    "get_analyzer",
    "get_paths",
    "get_tokenizer",
    "grade_event",
    "hamming",
    "normalize",
    "reset_analyzers",
    "risk_explanation",
    "simhash",
    "tokenize",
    "topic_labels",
    "train_model",
]
