"""Word to PDF with LibreOffice (`soffice --headless --convert-to pdf`), when it is installed.

Nothing else converts .docx faithfully (tables, pictures, CJK fonts) from Python. LibreOffice
allows one running instance per user profile: conversions share one profile under var_dir and
take turns (a file lock, so also across API processes); the first one creates the profile.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from core.config import get_settings
from core.errors import Unavailable

BINARIES = ("soffice", "libreoffice")
TIMEOUT_SECONDS = 120
MISSING = "服务器未安装 LibreOffice，无法导出 PDF；请下载 Word 版本（管理员可安装 libreoffice-writer-nogui 后启用）"


def converter() -> str | None:
    """The LibreOffice binary, or None."""
    return next((path for path in (shutil.which(b) for b in BINARIES) if path), None)


def require() -> str:
    """The LibreOffice binary, or Unavailable with the reason in Chinese."""
    binary = converter()
    if binary is None:
        raise Unavailable(MISSING)
    return binary


def docx_to_pdf(docx: bytes) -> bytes:
    """The PDF of a Word file; Unavailable when LibreOffice is missing or fails."""
    binary = require()
    var = get_settings().var_dir.resolve()
    profile = var / "libreoffice-profile"
    profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="yuqing-pdf-") as tmp, open(var / "libreoffice.lock", "w") as lock:
        source = Path(tmp) / "report.docx"
        source.write_bytes(docx)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = subprocess.run(
                [binary, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                 "--convert-to", "pdf", "--outdir", tmp, str(source)],
                capture_output=True, timeout=TIMEOUT_SECONDS, check=False,
                env={**os.environ, "HOME": str(profile)})
        except subprocess.TimeoutExpired as exc:
            raise Unavailable(f"PDF 转换超时（{TIMEOUT_SECONDS} 秒），请下载 Word 版本") from exc
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        out = Path(tmp) / "report.pdf"
        if done.returncode != 0 or not out.exists():
            raise Unavailable(f"PDF 转换失败（LibreOffice 退出码 {done.returncode}），请下载 Word 版本")
        return out.read_bytes()
