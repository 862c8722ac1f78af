"""Class weighting of the linear models and the rebuild of an auto-trained default model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.analysis.model import (
    CLASS_WEIGHT_POWER,
    TAXONOMY_CLASS_WEIGHT_POWER,
    TRAINING_RECIPE,
    class_weights,
    fit_linear,
    forget_models,
    get_default_models,
    load_bundle,
    read_labelled,
    save_bundle,
    train_examples,
)


def test_a_custom_label_set_pushes_small_classes_harder_than_balanced() -> None:
    labels = ["big"] * 30 + ["small"] * 10
    w = class_weights(labels)
    balanced = {"big": 40 / (2 * 30), "small": 40 / (2 * 10)}
    assert CLASS_WEIGHT_POWER > 1.0
    assert w["small"] / w["big"] == (balanced["small"] / balanced["big"]) ** CLASS_WEIGHT_POWER
    assert w["small"] / w["big"] > balanced["small"] / balanced["big"]
    # sentiment labels are a label set of their own: same push
    senti = class_weights(["negative"] * 30 + ["positive"] * 10)
    assert senti["positive"] / senti["negative"] == w["small"] / w["big"]


def test_the_builtin_taxonomy_keeps_balanced_weights_for_its_catch_all_other() -> None:
    labels = ["other"] * 30 + ["heating"] * 10
    w = class_weights(labels)
    assert TAXONOMY_CLASS_WEIGHT_POWER == 1.0
    assert w == {"other": 40 / (2 * 30), "heating": 40 / (2 * 10)}


def test_the_weighting_changes_what_a_custom_model_predicts_for_a_small_class() -> None:
    # 20 "a" documents and 4 "b" ones sharing most words: stronger weights widen b's region
    docs = [["x", "y", f"a{i}"] for i in range(20)] + [["x", "z", f"b{i}"] for i in range(4)]
    labels = ["a"] * 20 + ["b"] * 4
    balanced = fit_linear(docs, labels, class_weight_power=1.0)
    pushed = fit_linear(docs, labels)
    probe = ["x", "y", "z"]
    gap = lambda m: float(m.decision(probe)[1] - m.decision(probe)[0])  # noqa: E731
    assert gap(pushed) > gap(balanced)


def test_an_auto_trained_default_model_from_an_older_recipe_is_rebuilt(tmp_path: Path) -> None:
    """The auto-built bundle is keyed by the training file AND the training recipe: a change of
    weighting or features in the code must not keep serving a model fitted the old way."""
    training = tmp_path / "training.jsonl"
    training.write_text(
        "".join(
            json.dumps({"text": t, "topic": c}, ensure_ascii=False) + "\n"
            for t, c in [("暖气不热", "heating"), ("小区停车难", "parking")] * 6
        ),
        encoding="utf-8",
    )
    path = tmp_path / "topic.joblib"
    # a bundle built by older code from the same file: stamped with the file digest alone
    old, _ = train_examples(read_labelled(training), holdout=0)
    file_digest = hashlib.sha1(training.read_bytes()).hexdigest()[:12]
    old["topic"].meta.update({"auto": True, "training_digest": file_digest, "stale": True})
    save_bundle(old, path)
    forget_models()
    try:
        got = get_default_models(path, training)
        assert "stale" not in got["topic"].meta
        assert got["topic"].meta["training_digest"] == f"{file_digest}:{TRAINING_RECIPE}"
        assert "stale" not in load_bundle(path)["topic"].meta
        # and a bundle of the current recipe is used as is
        forget_models()
        assert get_default_models(path, training)["topic"].meta["trained_at"] == got["topic"].meta["trained_at"]
    finally:
        forget_models()
