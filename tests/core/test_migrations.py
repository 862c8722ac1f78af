"""The Alembic history builds exactly the schema the models describe, up and down."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import core.models  # noqa: F401
from core import migrate
from core.config import Settings
from core.db import get_engine


def test_migrations_match_the_models(app_env: Settings) -> None:
    with get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": migrate.include_name})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_migrations_go_down_and_up_again_keeping_alerts(app_env: Settings, database_url: str) -> None:
    migrate.downgrade(database_url, "0001")
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO event (title, topic, status, created_at, updated_at, mention_count, "
                             "engagement, heat, negative_count, relevant, max_risk, grade_score, grade_reason, "
                             "topics, places, sensitive_terms, channels) VALUES ('e', 'other', 'open', "
                             "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 0, 0, 0, false, 0, 0, '', '[]', '[]', "
                             "'[]', '[]')"))
        event_id = conn.execute(sa.text("SELECT max(id) FROM event")).scalar_one()
        conn.execute(sa.text("INSERT INTO alert (event_id, level, reason, status, created_at, dismiss_reason) "
                             "VALUES (:e, 'III', 'r', 'open', CURRENT_TIMESTAMP, '')"), {"e": event_id})
    migrate.upgrade(database_url)
    with engine.connect() as conn:
        key = conn.execute(sa.text("SELECT dedupe_key FROM alert")).scalar_one()
    assert key == f"event:{event_id}:III"
    migrate.downgrade(database_url, "base")
    migrate.upgrade(database_url)


def test_the_sourceless_unique_index_keeps_copies_stored_before_it(app_env: Settings, database_url: str) -> None:
    # The old check-then-insert race left hotline copies behind: the upgrade keeps both rows
    # (events may point at them) and marks the later one, so the index can be built.
    migrate.downgrade(database_url, "0006")
    engine = get_engine()
    # Rows are written against the 0006 table as reflected (the model has columns added since).
    table = sa.Table("mention", sa.MetaData(), autoload_with=engine)

    def filler(column: sa.Column[Any]) -> Any:
        kind = type(column.type).__name__.upper()
        if any(word in kind for word in ("INT", "NUMERIC", "FLOAT", "DOUBLE", "REAL")):
            return 0
        if "BOOL" in kind:
            return False
        if "DATE" in kind or "TIME" in kind:
            return datetime(2025, 1, 1, tzinfo=UTC)
        if "JSON" in kind:
            return {}
        return ""

    with engine.begin() as conn:
        for external_id in ("12345-1", "12345-1", "12345-2"):
            values: dict[str, Any] = {"channel": "hotline", "external_id": external_id, "title": "来电"}
            values |= {c.name: filler(c) for c in table.columns if c.name not in values and not c.nullable
                       and c.server_default is None and not c.primary_key}
            conn.execute(table.insert().values(**values))
    migrate.upgrade(database_url)
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id, external_id FROM mention ORDER BY id")).all()
    assert [e for _, e in ids] == ["12345-1", f"12345-1#dup{ids[1][0]}", "12345-2"]
