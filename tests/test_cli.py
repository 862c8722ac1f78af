"""The `yuqing` command as other tools call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

YUQING = [sys.executable, "-m", "cli.main"]


def _run(args: list[str], stdin: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YUQING_VAR_DIR": str(tmp_path / "var")}
    return subprocess.run(YUQING + args, input=stdin, capture_output=True, text=True, env=env, timeout=180,
                          check=False)


def test_classify_answers_each_line_in_the_same_order(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "text": "站前街道永安小区门口天天乱停车，消防通道都堵死了"},
        {"id": 2, "text": "家里才16度，穿着棉袄睡觉，供热公司电话打不通"},
        {"id": "c", "text": "新款SUV限时优惠，送免费停车位一年，欢迎到店试驾"},
    ]
    out = _run(["classify"], "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", 2, "c"]
    for row in rows:
        assert set(row) >= {"id", "topics", "sentiment", "places", "risk"}
        assert row["sentiment"] in {"negative", "neutral", "positive"}
        assert 0.0 <= row["risk"] <= 1.0
    assert rows[0]["topics"][0] == "parking"
    assert rows[1]["topics"][0] == "heating"
    assert rows[2]["topics"][0] == "other"
    assert "站前街道" in rows[0]["places"]


def test_classify_answers_a_bad_line_with_an_error_in_its_place(tmp_path: Path) -> None:
    stdin = '{"id": 1, "text": "楼道里电动车充电起火了"}\nnot json\n{"id": 3, "text": "雪没人清"}\n'
    out = _run(["classify"], stdin, tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 3
    assert rows[0]["id"] == 1 and "topics" in rows[0]
    assert "error" in rows[1]
    assert rows[2]["id"] == 3 and rows[2]["topics"][0] == "snow"


def test_classify_explain_says_why(tmp_path: Path) -> None:
    out = _run(["classify", "--explain"], '{"id": 1, "text": "站前街道背街小巷积雪没人清，老人滑倒"}\n', tmp_path)
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert row["topics"][0] == "snow" and row["explain"]


def test_help_lists_the_subcommands(tmp_path: Path) -> None:
    out = _run(["--help"], "", tmp_path)
    for name in ("run", "crawl", "worker", "serve", "classify", "migrate"):
        assert name in out.stdout
