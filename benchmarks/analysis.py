"""Benchmark core.analysis on the 3,707 real Weibo posts.

    python benchmarks/analysis.py [--csv PATH] [--probes 2000]

Prints the full analysis throughput against `jieba.lcut` alone on the same texts, and the
per-mention clustering cost (StoryIndex query + add) with 10k and 200k stored mentions.
The LAST line is `ratio <analysis throughput / jieba throughput>`.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# one stored mention per minute (~1,400 a day, a busy sub-district office) and a 72-hour
# story window: the 10k and the 200k store both hold ~4,300 mentions inside the window.
STEP_SECONDS = 60
DEFAULT_CSV = Path(
    "/work/shared/realdata/datasets/fuzhou_12345_liuyan_weibo_timeofmei/weibo_search_fuzhou_env_keywords_3707.csv"
)


def load_texts(path: Path) -> list[str]:
    """The post texts (column 微博正文)."""
    with path.open(encoding="utf-8") as fh:
        return [row["微博正文"] for row in csv.DictReader(fh) if row.get("微博正文")]


def bench_throughput(texts: list[str]) -> tuple[float, float]:
    """(jieba texts/s, analysis texts/s), best of three rounds each, interleaved."""
    import jieba

    from core.analysis import analyze, get_analyzer

    jieba.initialize()
    get_analyzer()
    for t in texts[:50]:  # warm caches
        jieba.lcut(t)
        analyze(t)
    best_j = best_a = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for t in texts:
            jieba.lcut(t)
        best_j = min(best_j, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for t in texts:
            analyze(t)
        best_a = min(best_a, time.perf_counter() - t0)
    return len(texts) / best_j, len(texts) / best_a


def bench_clustering(analyses: list[Any], stored: int, probes: int, seed: int = 1) -> float:
    """Microseconds per mention (query + add) with `stored` mentions already indexed.

    Stored mentions reuse the real posts' topics/places/tokens; half of them carry a
    near-duplicate of a real post's SimHash (reposts, copies), half a random one.
    """
    from core.analysis import StoryIndex

    rng = random.Random(seed)
    index = StoryIndex(window=timedelta(hours=72))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = timedelta(seconds=STEP_SECONDS)
    for i in range(stored):
        base = analyses[i % len(analyses)]
        if rng.random() < 0.5:
            mask = 0
            for _ in range(rng.randint(0, 6)):
                mask |= 1 << rng.randrange(64)
            value = base.simhash ^ mask
        else:
            value = rng.getrandbits(64)
        entry = SimpleNamespace(simhash=value or 1, topics=base.topics, places=base.places, tokens=base.tokens)
        index.add(f"s{i}", entry, start + i * step)
    now = start + stored * step
    best = float("inf")
    for round_no in range(3):  # best of three rounds of `probes` new mentions each
        probe = [analyses[rng.randrange(len(analyses))] for _ in range(probes)]
        t0 = time.perf_counter()
        for j, analysis in enumerate(probe):
            when = now + (round_no * probes + j) * step
            index.query(analysis, when)
            index.add(f"p{round_no}-{j}", analysis, when)
        best = min(best, (time.perf_counter() - t0) / probes * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the results (ratio last)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--probes", type=int, default=5000)
    args = parser.parse_args(argv)
    if not args.csv.exists():
        print(f"missing data set: {args.csv}", file=sys.stderr)
        return 2
    os.environ.setdefault("YUQING_TOPIC_MODEL_PATH", str(Path(tempfile.gettempdir()) / "yuqing-bench-topic.joblib"))
    from core.analysis import ANALYZER_VERSION, analyze

    texts = load_texts(args.csv)
    chars = sum(len(t) for t in texts)
    print(f"analyzer {ANALYZER_VERSION}; {len(texts)} posts, {chars / len(texts):.0f} chars on average")
    jieba_rate, analysis_rate = bench_throughput(texts)
    print(f"jieba.lcut      {jieba_rate:8.0f} posts/s")
    print(f"analyze (full)  {analysis_rate:8.0f} posts/s")
    analyses = [a for a in (analyze(t) for t in texts) if a.simhash]
    small = bench_clustering(analyses, 10_000, args.probes)
    large = bench_clustering(analyses, 200_000, args.probes)
    print(f"cluster per mention @10k stored   {small:7.1f} us")
    print(f"cluster per mention @200k stored  {large:7.1f} us")
    print(f"cluster ratio 200k/10k {large / small:.2f}")
    print(f"ratio {analysis_rate / jieba_rate:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
