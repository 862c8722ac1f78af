"""`make run PORT=N` / YUQING_PORT: another port, and a busy port said in Chinese before loading anything."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import PortError, check_port_free, resolve_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def _run(tmp_path: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    clean.update(YUQING_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run([sys.executable, "-m", "cli.main", "run", *args], cwd=REPO, env=clean,
                          capture_output=True, text=True, timeout=120)


def test_a_busy_port_is_reported_in_chinese_before_anything_is_loaded(tmp_path: Path, busy_port: int) -> None:
    done = _run(tmp_path, ["--port", str(busy_port)])
    assert done.returncode == 2
    assert f"端口 {busy_port} 已被占用" in done.stderr and f"PORT={busy_port + 1}" in done.stderr
    assert not (tmp_path / "var").exists()  # no database, no secret key, no demo


def test_yuqing_port_names_the_port_when_no_flag_is_given(tmp_path: Path, busy_port: int) -> None:
    done = _run(tmp_path, [], YUQING_PORT=str(busy_port))
    assert done.returncode == 2 and f"端口 {busy_port} 已被占用" in done.stderr
    bad = _run(tmp_path, [], YUQING_PORT="80x")
    assert bad.returncode == 2 and "YUQING_PORT 不是有效的端口号" in bad.stderr
    assert not (tmp_path / "var").exists()


def test_the_port_comes_from_the_flag_then_yuqing_port_then_8000(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YUQING_PORT", raising=False)
    assert resolve_port(None) == 8000
    monkeypatch.setenv("YUQING_PORT", "8001")
    assert resolve_port(None) == 8001
    assert resolve_port(8123) == 8123
    with pytest.raises(PortError):
        resolve_port(70000)


def test_a_free_port_passes_the_check_and_a_listening_one_does_not(busy_port: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])
    check_port_free("127.0.0.1", free)
    with pytest.raises(PortError, match="已被占用"):
        check_port_free("127.0.0.1", busy_port)
