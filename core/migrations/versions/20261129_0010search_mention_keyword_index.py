"""Keyword index for mention search: character grams (PostgreSQL GIN), FTS5 trigrams (SQLite)

Chinese has no spaces, so a keyword is matched as a substring. PostgreSQL gets a GIN index over
every single character and every pair of adjacent characters of title, author and text (ASCII
letters lower-cased), so keywords of one and two characters, the commonest in Chinese, are served
too (pg_trgm needs three, and whether it sees CJK at all depends on the database's locale). The
grams are computed by an immutable function in the index expression: nothing is stored in the
row, and rows written by any path (the ORM, COPY, raw SQL) are indexed. The index is built on its
element type's "C" collation: comparing keys byte-wise, not by the locale, makes it build faster.

SQLite gets an external-content FTS5 table with the trigram tokenizer, kept in step by triggers
on the mention table (3+ character keywords; shorter ones are matched with LIKE).
A batch_alter_table on `mention` in a later SQLite migration recreates the table and drops these
triggers: such a migration must create them again (see core.mentions.search_index).

Revision ID: 0010search
Revises: 0009docs
Create Date: 2026-11-29 19:00:00
"""
from collections.abc import Sequence

from alembic import op

from core.mentions.search_index import POSTGRES_DOWN, POSTGRES_UP, SQLITE_DOWN, SQLITE_UP

revision: str = '0010search'
down_revision: str | None = '0009docs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in (POSTGRES_UP if op.get_bind().dialect.name == 'postgresql' else SQLITE_UP):
        op.execute(statement)


def downgrade() -> None:
    for statement in (POSTGRES_DOWN if op.get_bind().dialect.name == 'postgresql' else SQLITE_DOWN):
        op.execute(statement)
