"""Entry points used by the CLI and the worker: classify JSON lines, train a topic model."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from core.analysis.analyzer import get_analyzer, reset_analyzers
from core.analysis.model import Example, forget_models, read_labelled, save_bundle, train_examples


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def classify_lines(inp: TextIO, out: TextIO, *, explain: bool = False, model_path: str | None = None) -> int:
    """Read {"id","text"} JSON lines, write one result line per input line, same order."""
    analyzer = get_analyzer(model_path)
    count = 0
    for line in inp:
        if not line.strip():
            continue
        count += 1
        ident: Any = None
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("line is not a JSON object")
            ident = obj.get("id")
            text = obj.get("text")
            title = obj.get("title") or ""
            if text is None and title:
                text = ""
            if not isinstance(text, str) or not isinstance(title, str):
                raise ValueError("'text' must be a string")
            result = analyzer.analyze(text, title=title, published_at=_parse_time(obj.get("published_at")))
            row: dict[str, Any] = {
                "id": ident,
                "topics": result.topics,
                "sentiment": result.sentiment,
                "places": result.places,
                "risk": result.risk,
            }
            if explain:
                row["relevant"] = result.relevant
                row["topic_scores"] = {k: v for k, v in sorted(result.topic_scores.items(), key=lambda kv: -kv[1])[:5]}
                row["sentiment_score"] = result.sentiment_score
                row["sensitive_terms"] = result.sensitive_terms
                row["explain"] = result.explain
        except Exception as exc:  # never crash, never drop: report in place
            row = {"id": ident, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    out.flush()
    return count


def train_model(
    *,
    input_path: str | None = None,
    model_path: str,
    extra_examples: Sequence[tuple[str, str]] | None = None,
    include_default: bool = False,
) -> dict[str, Any]:
    """Train a topic model on labelled JSON lines (+ corrections) and save it to model_path.

    extra_examples are (text, label) pairs, e.g. a duty officer's re-labels; a dismissal is
    passed as (text, "other"). They are appended after the file's examples and weighted x2.
    input_path defaults to the shipped training set (get_paths().training_set).
    """
    from core.analysis.settings import get_paths

    examples: list[Example] = []
    default_set = get_paths().training_set
    if input_path is None:
        input_path = str(default_set)
    elif include_default:
        examples.extend(read_labelled(default_set))
    examples.extend(read_labelled(input_path))
    corrections = [Example(text=t, label=str(lab)) for t, lab in (extra_examples or [])]
    examples.extend(corrections * 2)
    if not examples:
        raise ValueError("no training examples")
    models, metrics = train_examples(examples)
    models["topic"].meta["corrections"] = len(corrections)
    save_bundle(models, model_path)
    forget_models()
    reset_analyzers()
    metrics["model_path"] = os.fspath(model_path)
    metrics["corrections"] = len(corrections)
    return metrics
