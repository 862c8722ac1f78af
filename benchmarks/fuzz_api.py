"""Fuzz the whole API with schemathesis, as an admin, against a real server on a fresh database.

    python benchmarks/fuzz_api.py [--max-examples 100] [--workers 1] [--source DIR] [-- extra schemathesis args]

Starts `uvicorn api.main:app` from DIR (default: this checkout) on a free loopback port with an
empty SQLite database, logs in as admin and runs `schemathesis run` with every check (no server
errors, responses and status codes as published, ...). Prints schemathesis's own summary:
operations, test cases, failures by kind. The suite's bounded version is tests/api/test_fuzz.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--workers", default="1")
    parser.add_argument("--source", type=Path, default=ROOT)
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "YUQING_VAR_DIR": tmp, "YUQING_DATABASE_URL": f"sqlite:///{tmp}/y.sqlite",
               "YUQING_SECRET_KEY": "fuzz-secret-key-0123456789abcdef0123", "YUQING_REDIS_URL": "",
               "YUQING_ADMIN_PASSWORD": "fuzz-admin-password-1"}
        subprocess.run([sys.executable, "-m", "cli.main", "migrate"], env=env, cwd=args.source, check=True,
                       capture_output=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(Path(tmp) / "server.log", "w")  # noqa: SIM115 (closed below)
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port),
                                   "--log-level", "warning"], env=env, cwd=args.source, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.1)
            token = httpx.post(f"{base}/api/auth/token", data={"username": "admin",
                                                                "password": "fuzz-admin-password-1"}).json()
            cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
            started = time.monotonic()
            done = subprocess.run([cli, "run", f"{base}/openapi.json", "--checks", "all",
                                   "--max-examples", str(args.max_examples), "--workers", args.workers,
                                   "-H", f"Authorization: Bearer {token['access_token']}",
                                   "--suppress-health-check", "all", *args.extra])
            print(f"fuzz run took {time.monotonic() - started:.0f} s")
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
            errors = (Path(tmp) / "server.log").read_text()
            print(f"server log: {errors.count('Traceback')} tracebacks")
            for line in errors.splitlines():
                if line.startswith(("sqlalchemy.", "psycopg", "ValueError", "TypeError", "AttributeError",
                                    "KeyError", "OverflowError", "UnicodeEncodeError", "_csv.Error")):
                    print("  ", line[:200])
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
