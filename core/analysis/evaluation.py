"""Honest evaluation on the shipped labelled set: k-fold, model trained on the train folds only.

python -m core.analysis.evaluation            # topics (rules, model, combined) + sentiment
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from core.analysis.analyzer import Analyzer
from core.analysis.model import Example, featurize, fit_linear
from core.analysis.settings import get_paths


def _macro_f1(y_true: list[str], y_pred: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def load_rows(path: Path | None = None) -> list[dict[str, Any]]:
    """The labelled rows (text, topic, sentiment)."""
    p = path or get_paths().training_set
    with p.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def kfold_eval(rows: list[dict[str, Any]], *, folds: int = 5, seed: int = 7) -> dict[str, Any]:
    """Stratified k-fold: per fold train the topic model on the rest, analyse the held-out fold."""
    by_topic: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_topic.setdefault(r["topic"], []).append(i)
    rng = random.Random(seed)
    fold_of = [0] * len(rows)
    for idxs in by_topic.values():
        rng.shuffle(idxs)
        for j, i in enumerate(idxs):
            fold_of[i] = j % folds
    feats = [featurize(r["text"]) for r in rows]
    rules_only = Analyzer(use_default_model=False)
    y_true: list[str] = []
    pred_comb: list[str] = []
    pred_model: list[str] = []
    pred_rules: list[str] = []
    sent_true: list[str] = []
    sent_pred: list[str] = []
    errors: list[dict[str, str]] = []
    for k in range(folds):
        train = [i for i in range(len(rows)) if fold_of[i] != k]
        test = [i for i in range(len(rows)) if fold_of[i] == k]
        model = fit_linear([feats[i] for i in train], [rows[i]["topic"] for i in train])
        strain = [i for i in train if rows[i].get("sentiment")]
        smodel = fit_linear([feats[i] for i in strain], [rows[i]["sentiment"] for i in strain])
        analyzer = Analyzer(model, sentiment_model=smodel, use_default_model=False)
        for i in test:
            row = rows[i]
            res = analyzer.analyze(row["text"])
            y_true.append(row["topic"])
            pred_comb.append(res.topics[0])
            pred_model.append(model.predict(feats[i]))
            pred_rules.append(rules_only.analyze(row["text"]).topics[0])
            if "sentiment" in row:
                sent_true.append(row["sentiment"])
                sent_pred.append(res.sentiment)
            if res.topics[0] != row["topic"] or res.sentiment != row.get("sentiment", res.sentiment):
                errors.append(
                    {
                        "text": row["text"][:60],
                        "topic": f"{row['topic']}→{res.topics[0]}",
                        "sentiment": f"{row.get('sentiment')}→{res.sentiment}",
                    }
                )
    sent_acc = sum(a == b for a, b in zip(sent_true, sent_pred, strict=True)) / max(1, len(sent_true))
    return {
        "n": len(rows),
        "macro_f1_combined": round(_macro_f1(y_true, pred_comb), 4),
        "macro_f1_model": round(_macro_f1(y_true, pred_model), 4),
        "macro_f1_rules": round(_macro_f1(y_true, pred_rules), 4),
        "sentiment_accuracy": round(sent_acc, 4),
        "sentiment_confusion": dict(Counter(f"{a}→{b}" for a, b in zip(sent_true, sent_pred, strict=True) if a != b)),
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: print k-fold metrics on the shipped (or given) labelled set."""
    args = argv if argv is not None else sys.argv[1:]
    paths = [a for a in args if not a.startswith("-")]
    path = Path(paths[0]) if paths else None
    report = kfold_eval(load_rows(path))
    verbose = "-v" in args
    if not verbose:
        report.pop("errors")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Example", "kfold_eval", "load_rows", "main"]
