"""How an oversized upload is refused, and whether /api/health keeps answering meanwhile.

    python benchmarks/upload_refusal.py [--rows 1000000] [--stream]

Starts `uvicorn api.main:app` as a separate process on a free loopback port (fresh SQLite in a
temp dir), posts a tiny .xlsx whose sheet repeats one row `--rows` times, and asks /api/health
in a loop from another thread until the upload is answered. `--stream` lifts the zip-ratio
check (YUQING_IMPORT_MAX_ZIP_RATIO) so the streamed row cap alone has to refuse it.
Prints the file size, the answer and its time, and the health probes' count and worst latency.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args()
    from tests.api.test_hardening_upload import repeated_rows_xlsx

    content = repeated_rows_xlsx(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "YUQING_VAR_DIR": tmp, "YUQING_DATABASE_URL": f"sqlite:///{tmp}/y.sqlite",
               "YUQING_SECRET_KEY": "benchmark-secret-key-0123456789abcdef", "YUQING_REDIS_URL": "",
               "YUQING_ADMIN_PASSWORD": "benchmark-password-1"}
        if args.stream:
            env |= {"YUQING_IMPORT_MAX_ZIP_RATIO": "1000000", "YUQING_IMPORT_MAX_UNPACKED_BYTES": str(10**12)}
        subprocess.run([sys.executable, "-m", "cli.main", "migrate"], env=env, cwd=ROOT, check=True,
                       capture_output=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port),
                                   "--log-level", "warning"], env=env, cwd=ROOT)
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
                                                                "password": "benchmark-password-1"}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            answer: dict[str, object] = {}
            done = threading.Event()

            def upload() -> None:
                t0 = time.monotonic()
                res = httpx.post(f"{base}/api/intake/import", headers=headers, timeout=600,
                                 files={"file": ("bomb.xlsx", content)})
                answer.update(status=res.status_code, detail=res.json().get("detail"),
                              seconds=time.monotonic() - t0)
                done.set()

            threading.Thread(target=upload, daemon=True).start()
            latencies = []
            while not done.is_set():
                t0 = time.monotonic()
                httpx.get(f"{base}/api/health", timeout=120)
                latencies.append(time.monotonic() - t0)
            print(f"file {len(content) / 1024:.0f} KB, {args.rows} rows, stream={args.stream}")
            print(f"answer {answer['status']} in {answer['seconds']:.2f} s: {answer['detail']}")
            print(f"health probes during the upload: {len(latencies)}, worst {max(latencies) * 1000:.0f} ms")
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
