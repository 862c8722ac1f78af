"""docker-compose.yml cannot be run here (no Docker engine), so check it against the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from cli.main import build_parser
from core.config import Settings

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))


def _subcommands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


def test_compose_runs_every_production_role_from_one_image_with_healthchecks() -> None:
    services = COMPOSE["services"]
    assert {"postgres", "redis", "api", "worker", "beat", "crawler", "migrate"} <= set(services)
    images = {services[name]["image"] for name in ("api", "worker", "beat", "crawler", "migrate")}
    assert images == {"yuqing:latest"}
    for name in ("postgres", "redis", "api", "worker", "beat", "crawler"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"


def test_compose_commands_are_real_yuqing_subcommands() -> None:
    known = _subcommands()
    for name, service in COMPOSE["services"].items():
        command = service.get("command")
        if not command or name in {"postgres", "redis"}:
            continue
        text = " ".join(command)
        used = re.findall(r"\byuqing (\w+)", text)
        assert used, f"{name} does not run yuqing"
        assert set(used) <= known, f"{name} runs unknown subcommands {set(used) - known}"
        # Options given to a subcommand must be ones it accepts.
        args = command if command[0] == "yuqing" else None
        if args:
            build_parser().parse_args(args[1:])


def test_compose_variables_are_settings_the_code_reads() -> None:
    fields = {f"YUQING_{name.upper()}" for name in Settings.model_fields}
    for name, service in COMPOSE["services"].items():
        for var in service.get("environment", {}):
            if var.startswith("YUQING_"):
                assert var in fields, f"{name} sets {var}, which no setting reads"
    env = COMPOSE["services"]["api"]["environment"]
    assert env["YUQING_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["YUQING_REDIS_URL"].startswith("redis://redis:")


def test_compose_healthcheck_of_api_hits_the_health_endpoint() -> None:
    test = " ".join(COMPOSE["services"]["api"]["healthcheck"]["test"])
    assert "/api/health" in test
    assert "8000" in test and "--port 8000" in " ".join(COMPOSE["services"]["api"]["command"])
