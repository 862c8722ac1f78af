"""Run Alembic migrations from code, so an installed yuqing needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from core.config import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url or get_settings().resolved_database_url)
    return cfg


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Bring the database schema to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Autogenerate and the models-vs-migrations test skip what migrations make that models cannot
    describe (the mention keyword index: an expression index, an FTS5 table and its shadow tables)."""
    from core.mentions.search_index import MIGRATION_ONLY

    return not (type_ in ("table", "index") and name in MIGRATION_ONLY)
