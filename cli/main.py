"""The `yuqing` command: one entry point for every process of the system."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence


def _cmd_migrate(args: argparse.Namespace) -> int:
    from core import migrate
    from core.config import get_settings
    from core.db import session_scope
    from core.users import service as users

    settings = get_settings()
    migrate.upgrade()
    print(f"数据库已迁移到最新版本: {_safe_url(settings.resolved_database_url)}")
    with session_scope() as session:
        _admin, generated = users.ensure_admin(session=session, password=settings.admin_password or None)
    if generated:
        print(f"已创建管理员 admin，密码（仅显示这一次）: {generated}")
    return 0


DEFAULT_PORT = 8000


class PortError(Exception):
    """The port cannot be served on; the message is for people (Chinese)."""


def resolve_port(arg: int | None) -> int:
    """--port, else YUQING_PORT (what `make run PORT=N` sets), else 8000."""
    if arg is not None:
        port = arg
    else:
        raw = os.environ.get("YUQING_PORT", "").strip()
        if not raw:
            return DEFAULT_PORT
        try:
            port = int(raw)
        except ValueError:
            raise PortError(f"YUQING_PORT 不是有效的端口号：{raw!r}（应为 1–65535 的整数）") from None
    if not 1 <= port <= 65535:
        raise PortError(f"端口号 {port} 无效（应为 1–65535）")
    return port


def check_port_free(host: str, port: int) -> None:
    """Raise PortError when another process already listens on host:port.

    Checked before anything is migrated or loaded, so a busy port costs nothing. SO_REUSEADDR
    as uvicorn sets it: a port in TIME_WAIT is free, one with a listener is not.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except PermissionError:
            raise PortError(f"没有权限使用端口 {port}（1024 以下的端口需要管理员权限），"
                            f"请换一个端口，例如：make run PORT=8001") from None
        except OSError as exc:
            raise PortError(f"端口 {port} 已被占用（{host}:{port}，{exc.strerror or exc}），"
                            f"可能已有一个 yuqing 或其他程序在运行。请先关闭它，"
                            f"或换一个端口：make run PORT={port + 1}（或设置 YUQING_PORT={port + 1}）") from None


def _serving_port(args: argparse.Namespace) -> int | None:
    """The port to serve on, or None after telling the user why it cannot be used."""
    try:
        port = resolve_port(args.port)
        check_port_free(args.host, port)
    except PortError as exc:
        print(f"无法启动：{exc}", file=sys.stderr)
        return None
    return port


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    port = _serving_port(args)
    if port is None:
        return 2
    uvicorn.run("api.main:app", host=args.host, port=port, log_level="info")
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from core.config import get_settings

    if get_settings().embedded_queue:
        print("嵌入模式（未设置 YUQING_REDIS_URL）：任务在提交它的进程内执行，无需单独的 worker。",
              file=sys.stderr)
        return 2
    celery_args = ["worker", "--loglevel=INFO", f"--concurrency={args.concurrency}",
                   "--hostname", args.hostname]
    if args.no_supervise:
        from worker.app import app

        app.worker_main(celery_args)
        return 0
    return supervise([sys.executable, "-m", "celery", "-A", "worker.app", *celery_args])


def supervise(command: list[str], *, quick_exit_seconds: float = 60.0, max_delay: float = 30.0) -> int:
    """Run `command` and start it again whenever it dies, until this process is told to stop.

    Celery reconnects to a lost broker by itself (worker.app sets unlimited retries); this loop
    is for what it does not survive: kombu raising while it closes a channel, a crash, an OOM kill.
    A child that dies quickly is restarted after a doubling pause (at most `max_delay` seconds).
    """
    import signal
    import subprocess
    import threading
    import time

    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: object) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, forward)
    delay = 1.0
    code = 0
    while not stopping.is_set():
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping.is_set():
            break
        ran = time.monotonic() - started
        delay = 1.0 if ran >= quick_exit_seconds else min(delay * 2, max_delay)
        print(f"yuqing worker: Celery 退出（代码 {code}，运行 {ran:.0f} 秒），{delay:.0f} 秒后重启",
              file=sys.stderr, flush=True)
        stopping.wait(delay)
    return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code


def _cmd_beat(args: argparse.Namespace) -> int:
    from core.config import get_settings
    from worker.app import app

    settings = get_settings()
    if settings.embedded_queue:
        print("嵌入模式（未设置 YUQING_REDIS_URL）：`yuqing run` 自带定时清扫与采集。", file=sys.stderr)
        return 2
    schedule = str(settings.var_dir / "celerybeat-schedule")
    app.start(["beat", "--loglevel=INFO", "--schedule", schedule])
    return 0


def _cmd_crawl(args: argparse.Namespace) -> int:
    from crawlers.run import failed_sources, run_crawl

    summary = run_crawl(args.source or None)
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    failed = failed_sources(summary)
    if failed:
        # Cron and supervisors see a failed crawl only through the exit code.
        print(f"{len(failed)} 个监测源抓取失败：{'、'.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _cmd_classify(args: argparse.Namespace) -> int:
    from core import analysis

    if args.action == "train":
        if not args.input or not args.model:
            print("用法: yuqing classify train --input labelled.jsonl --model PATH", file=sys.stderr)
            return 2
        extra = [] if args.no_corrections else _stored_corrections()
        if extra:
            # Corrections use the office's topic codes; a file with another label set ignores them.
            labels = _labels_of(args.input)
            extra = [(text, topic) for text, topic in extra if topic in labels]
        metrics = analysis.train_model(input_path=args.input, model_path=args.model, extra_examples=extra)
        metrics["corrections_used"] = len(extra)
        print(json.dumps(metrics, ensure_ascii=False, default=str))
        return 0
    analysis.classify_lines(sys.stdin, sys.stdout, explain=args.explain, model_path=args.model)
    return 0


def _labels_of(path: str) -> set[str]:
    labels = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                labels.add(str(json.loads(line)["topic"]))
            except (ValueError, KeyError, TypeError):
                continue  # train_model reports bad lines itself
    return labels


def _stored_corrections() -> list[tuple[str, str]]:
    """The duty officers' re-labels and false alarms from the database, if there is one."""
    import sqlalchemy as sa

    from core.config import get_settings
    from core.db import session_scope
    from core.mentions import service as mentions

    settings = get_settings()
    url = settings.resolved_database_url
    if url.startswith("sqlite") and not (settings.var_dir / "yuqing.sqlite").exists() and not settings.database_url:
        return []  # no database here yet: nothing was corrected
    try:
        with session_scope() as session:
            return mentions.training_corrections(session=session)
    except sa.exc.SQLAlchemyError as exc:
        print(f"未读取纠错数据（{type(exc).__name__}），仅用训练文件训练", file=sys.stderr)
        return []


def _cmd_run(args: argparse.Namespace) -> int:
    serve = not args.no_serve
    port = _serving_port(args) if serve else DEFAULT_PORT
    if port is None:
        return 2  # before anything is migrated or loaded
    from cli.demo import run_demo

    return run_demo(host=args.host, port=port, serve=serve)


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yuqing", description="政务舆情监测与回应台账")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="迁移、加载演示数据、采集、处理，并在 127.0.0.1:8000 提供工作台与 API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="端口，默认取 YUQING_PORT，再默认 8000")
    p.add_argument("--no-serve", action="store_true", help="加载演示数据后退出（不启动网页服务）")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("migrate", help="把数据库迁移到最新版本")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("serve", help="启动 API 与工作台")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="端口，默认取 YUQING_PORT，再默认 8000")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("worker", help="启动 Celery worker（需要 YUQING_REDIS_URL）")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--hostname", default="yuqing@%h")
    p.add_argument("--no-supervise", action="store_true",
                   help="不守护：Celery 在本进程内运行，退出即结束（默认由本命令在其退出时自动重启）")
    p.set_defaults(func=_cmd_worker)

    p = sub.add_parser("beat", help="启动 Celery beat 定时任务（需要 YUQING_REDIS_URL）")
    p.set_defaults(func=_cmd_beat)

    p = sub.add_parser("crawl", help="采集监测源")
    p.add_argument("--source", action="append", help="只采集这个监测源（可重复）")
    p.set_defaults(func=_cmd_crawl)

    p = sub.add_parser("classify", help="文本分类：JSON lines 从标准输入读入，按同样顺序输出")
    p.add_argument("action", nargs="?", choices=["train"], help="train：训练分类模型")
    p.add_argument("--explain", action="store_true", help="输出命中的规则、模型得分和地名")
    p.add_argument("--model", help="模型文件路径")
    p.add_argument("--input", help="训练数据（train 时），每行 {\"text\":..,\"topic\":..}")
    p.add_argument("--no-corrections", action="store_true",
                   help="train 时不使用值班人员的改正与误报标记（默认使用数据库中的）")
    p.set_defaults(func=_cmd_classify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("YUQING_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
