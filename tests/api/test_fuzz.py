"""schemathesis against the app: every operation, as an admin, valid and invalid input.

No answer may be a server error, and every answer must match the published schema (status
code, content type, headers, body); invalid input must be refused with a 4xx. Left out:
positive_data_acceptance (a schema-valid request may still break a domain rule, e.g. an unknown
unit id or a title and a text both empty, and answer 404/409/422). Bounded to fit the suite;
`python benchmarks/fuzz_api.py` runs the same tool for longer against a real server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from api.main import create_app
from core.config import Settings
from core.users.models import User

# Examples per operation and generation mode; YUQING_FUZZ_EXAMPLES raises it for a longer run.
EXAMPLES = int(os.environ.get("YUQING_FUZZ_EXAMPLES", "6"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_operation_answers_5xx_or_off_schema(
        app_env: Settings, make_user: Callable[..., User], auth: Callable[[User], dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.routers.mentions.enqueue_mentions", lambda ids: None)
    monkeypatch.setattr("api.routers.intake.enqueue_mentions", lambda ids: None)
    headers = auth(make_user("fuzz-admin", "admin"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    failures: list[str] = []
    cases = 0
    started = time.monotonic()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def check(case: schemathesis.Case) -> None:
                nonlocal cases
                cases += 1
                case.call_and_validate(headers={**(case.headers or {}), **headers},
                                       excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # no parameters: nothing can be made invalid
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    print(f"fuzz: {len(operations)} operations, {cases} cases, {len(failures)} failures, "
          f"{time.monotonic() - started:.0f} s")
    assert not failures, "\n\n".join(failures)
