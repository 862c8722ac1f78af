"""The HTTP fixtures of tests/api (client, people, units, events), shared with the app's tests."""

from __future__ import annotations

from tests.api.conftest import auth, client, make_event, make_unit, make_user, password  # noqa: F401
