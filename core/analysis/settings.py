"""Where the analysis configuration lives (package defaults, overridable by env vars)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

ENV_TAXONOMY = "YUQING_TAXONOMY_PATH"
ENV_GAZETTEER = "YUQING_GAZETTEER_PATH"
ENV_TOPIC_MODEL = "YUQING_TOPIC_MODEL_PATH"
ENV_SENTIMENT = "YUQING_SENTIMENT_PATH"

DEFAULT_MODEL_PATH = Path("var") / "models" / "topic.joblib"


@dataclass(frozen=True)
class AnalysisPaths:
    """Resolved file locations used by the analyzer."""

    taxonomy: Path
    gazetteer: Path
    sentiment: Path
    topic_model: Path
    training_set: Path


def get_paths() -> AnalysisPaths:
    """Read the YUQING_* environment variables, falling back to the shipped defaults."""
    env = os.environ
    return AnalysisPaths(
        taxonomy=Path(env.get(ENV_TAXONOMY) or DATA_DIR / "taxonomy.yaml"),
        gazetteer=Path(env.get(ENV_GAZETTEER) or DATA_DIR / "gazetteer.yaml"),
        sentiment=Path(env.get(ENV_SENTIMENT) or DATA_DIR / "sentiment.yaml"),
        topic_model=Path(env.get(ENV_TOPIC_MODEL) or DEFAULT_MODEL_PATH),
        training_set=DATA_DIR / "training.jsonl",
    )
