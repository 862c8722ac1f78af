"""The suite itself: in CI what a test needs is there or the run fails, saying what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, env_flag

NEEDS_SHARED = "tests/intake/test_intake.py::test_importing_the_peoples_board_export_reports_rows_and_is_idempotent"


@pytest.mark.parametrize(("value", "on"), [("true", True), ("True", True), ("1", True), ("yes", True),
                                           ("false", False), ("0", False), ("", False), ("no", False)])
def test_ci_is_read_as_a_flag_not_as_any_non_empty_string(
        value: str, on: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", value)
    assert env_flag("CI") is on


def test_an_unreadable_ci_value_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "maybe")
    with pytest.raises(pytest.UsageError, match="CI='maybe'"):
        env_flag("CI")


def run_without_shared(ci: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": ci, "YUQING_TEST_SHARED_DIR": str(tmp_path / "no-shared-here")}
    return subprocess.run([sys.executable, "-m", "pytest", NEEDS_SHARED, "-q", "-p", "no:cacheprovider",
                           "-k", "sqlite", "-rfs"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


def test_without_the_shared_folder_ci_fails_and_says_what_is_missing(tmp_path: Path) -> None:
    result = run_without_shared("true", tmp_path)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 failed" in result.stdout and "CI must provide it" in result.stdout
    assert "../shared/realdata/datasets/fuzhou_12345_liuyan_weibo_timeofmei" in result.stdout


def test_without_the_shared_folder_a_laptop_skips_saying_why(tmp_path: Path) -> None:
    result = run_without_shared("false", tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout and "../shared/realdata/datasets" in result.stdout
