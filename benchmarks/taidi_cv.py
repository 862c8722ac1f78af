"""5-fold macro-F1 on the 泰迪杯 2020 C题 附件2 sample through the real CLI path, over many splits.

    python benchmarks/taidi_cv.py [--csv PATH] [--seeds 10] [--kfold-seeds 10] [--before-power 1.0]

Each fold is written as JSON lines, trained with `train_model` (what `yuqing classify train`
runs) and classified with `classify_lines --model` (what `yuqing classify --model` runs).
Splits: StratifiedKFold(shuffle) seeds 0..N-1, KFold(shuffle) seeds 0..M-1 and the
unshuffled StratifiedKFold (the file is sorted by label and, inside a label, in blocks of
similar messages: its folds test on messages unlike any trained on, a harder shift than
any random split). With --before-power P every split is also run with the class-weight power
P (model.CLASS_WEIGHT_POWER; 1.0 = sklearn "balanced", the model before 1.5), in the same run,
and a `before` line is printed. The LAST line is `taidi_macro_f1 mean <m> min <min over shuffled splits>`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_CSV = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata" / "datasets" / \
    "taidi2020_C_zhihui_zhengwu" / "fujian2_sample495_labeled.clean.csv"


def cv_macro_f1(rows: list[dict[str, str]], folds: list[tuple[list[int], list[int]]], workdir: Path) -> float:
    """Macro-F1 of the pooled predictions of the given (train, test) folds, through the CLI path."""
    from sklearn.metrics import f1_score

    from core.analysis import classify_lines, train_model

    y_true: list[str] = []
    y_pred: list[str] = []
    for k, (train, test) in enumerate(folds):
        data = workdir / f"fold{k}.jsonl"
        with data.open("w", encoding="utf-8") as fh:
            for i in train:
                r = rows[i]
                fh.write(json.dumps({"title": r["title"], "text": r["text"], "topic": r["label"]},
                                    ensure_ascii=False) + "\n")
        model = workdir / f"fold{k}.joblib"
        train_model(input_path=str(data), model_path=str(model))
        inp = io.StringIO("".join(
            json.dumps({"id": int(i), "title": rows[i]["title"], "text": rows[i]["text"]}, ensure_ascii=False) + "\n"
            for i in test))
        out = io.StringIO()
        classify_lines(inp, out, model_path=str(model))
        for i, line in zip(test, out.getvalue().splitlines(), strict=True):
            y_true.append(rows[i]["label"])
            y_pred.append(json.loads(line)["topics"][0])
    return float(f1_score(y_true, y_pred, average="macro"))


def main() -> None:
    from sklearn.model_selection import KFold, StratifiedKFold

    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--kfold-seeds", type=int, default=10)
    ap.add_argument("--before-power", type=float, default=None)
    args = ap.parse_args()
    from core.analysis import model as model_module

    shipped_power = model_module.CLASS_WEIGHT_POWER
    with args.csv.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    labels = [r["label"] for r in rows]
    splits: list[tuple[str, StratifiedKFold | KFold]] = [
        (f"stratified shuffle seed {s}", StratifiedKFold(5, shuffle=True, random_state=s)) for s in range(args.seeds)]
    splits += [(f"kfold shuffle seed {s}", KFold(5, shuffle=True, random_state=s)) for s in range(args.kfold_seeds)]
    splits.append(("stratified unshuffled", StratifiedKFold(5)))
    shuffled: list[float] = []
    before: list[float] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, splitter in splits:
            folds = [(list(a), list(b)) for a, b in splitter.split(rows, labels)]
            old = ""
            if args.before_power is not None:
                model_module.CLASS_WEIGHT_POWER = args.before_power
                try:
                    old_score = cv_macro_f1(rows, folds, Path(tmp))
                finally:
                    model_module.CLASS_WEIGHT_POWER = shipped_power
                old = f"  (before {old_score:.3f})"
                if "unshuffled" not in name:
                    before.append(old_score)
            score = cv_macro_f1(rows, folds, Path(tmp))
            if "unshuffled" not in name:
                shuffled.append(score)
            print(f"{name:30s} {score:.3f}{old}", flush=True)
    print(f"{len(rows)} rows, {len(splits)} splits, {time.perf_counter() - t0:.0f} s")
    if before:
        print(f"before (class-weight power {args.before_power}): shuffled splits: mean {statistics.mean(before):.3f} "
              f"min {min(before):.3f} max {max(before):.3f}")
    print(f"shuffled splits: mean {statistics.mean(shuffled):.3f} min {min(shuffled):.3f} max {max(shuffled):.3f}")
    print(f"taidi_macro_f1 mean {statistics.mean(shuffled):.3f} min {min(shuffled):.3f}")


if __name__ == "__main__":
    main()
