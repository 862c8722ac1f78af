"""The keyword index of mention search, and the one matching rule both backends follow.

A keyword matches a mention when it occurs as a substring of its title, author or text, ASCII
letters compared case-insensitively and every other character exactly (so SQLite's LIKE, which
folds ASCII only, and PostgreSQL answer alike). Keywords never contain whitespace: the query is
split on it.

PostgreSQL: a GIN index on mention_search_grams(title, author, text), the set of single characters
and adjacent pairs (lower-cased ASCII, no whitespace). A keyword of 1–2 characters is one key; a
longer one needs all its pairs, and LIKE then confirms the order. Built by migration 0010search.

SQLite: mention_fts, an external-content FTS5 table with the trigram tokenizer (3+ characters,
Unicode case folding: a superset of the ASCII rule, LIKE confirms), kept in step by triggers.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import col

from core.mentions.models import Mention

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
_FOLD = str.maketrans(UPPER, LOWER)

GRAMS_FUNCTION = "mention_search_grams"
GRAMS_INDEX = "ix_mention_search_grams"
# Topic and place filters on PostgreSQL: jsonb containment on the JSON lists. The GIN indexes serve
# rare values, and ANALYZE keeps statistics of their expressions, so the planner knows a common
# topic is better found walking ix_mention_seen (a guess of 0.5% made it read the whole table).
TOPIC_INDEX = "ix_mention_topic_set"
PLACE_INDEX = "ix_mention_place_set"
LABEL_INDEX = "ix_mention_label_topic"
FTS_TABLE = "mention_fts"
# Objects made by migration 0010search that the models do not describe (compare_metadata skips them).
MIGRATION_ONLY = frozenset({GRAMS_INDEX, TOPIC_INDEX, PLACE_INDEX, LABEL_INDEX, FTS_TABLE} | {
    f"{FTS_TABLE}_{s}" for s in ("data", "idx", "content", "docsize", "config")})

# Whitespace becomes a space; the three strings below are split on spaces, empty parts dropped:
# single characters, pairs at even offsets, pairs at odd offsets (a pair with a space in it falls
# apart into single characters, which are in the set anyway). Regular expressions and array
# functions run in C: ~0.1 ms for a 400-character text.
POSTGRES_UP = [
    f"""
    CREATE OR REPLACE FUNCTION {GRAMS_FUNCTION}(title text, author text, body text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT array_remove(array_remove(string_to_array(x, NULL) || string_to_array(
               regexp_replace(x, '(..)', '\\1 ', 'g') || ' ' || regexp_replace(substr(x, 2), '(..)', '\\1 ', 'g'),
               ' '), ''), ' ')
      FROM translate(coalesce(title, '') || ' ' || coalesce(author, '') || ' ' || coalesce(body, ''),
                     E'{UPPER}\\t\\r\\n\\x0B\\f', '{LOWER}     ') AS x
    $$
    """,
    f"""CREATE INDEX {GRAMS_INDEX} ON mention USING gin
        ({GRAMS_FUNCTION}(title COLLATE "C", author COLLATE "C", text COLLATE "C"))""",
    f"CREATE INDEX {TOPIC_INDEX} ON mention USING gin ((topics::jsonb) jsonb_path_ops)",
    f"CREATE INDEX {PLACE_INDEX} ON mention USING gin ((places::jsonb) jsonb_path_ops)",
    f"CREATE INDEX {LABEL_INDEX} ON mention (label_topic) WHERE label_topic <> ''",
]
POSTGRES_DOWN = [f"DROP INDEX IF EXISTS {name}" for name in (LABEL_INDEX, PLACE_INDEX, TOPIC_INDEX)] + [
                 f"DROP INDEX IF EXISTS {GRAMS_INDEX}",
                 f"DROP FUNCTION IF EXISTS {GRAMS_FUNCTION}(text, text, text)"]

_FTS_INSERT = f"INSERT INTO {FTS_TABLE}(rowid, title, author, text) VALUES (new.id, new.title, new.author, new.text);"
_FTS_DELETE = (f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, author, text) "
               "VALUES ('delete', old.id, old.title, old.author, old.text);")
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER {FTS_TABLE}_ai AFTER INSERT ON mention BEGIN {_FTS_INSERT} END",
    f"CREATE TRIGGER {FTS_TABLE}_ad AFTER DELETE ON mention BEGIN {_FTS_DELETE} END",
    f"CREATE TRIGGER {FTS_TABLE}_au AFTER UPDATE OF title, author, text ON mention "
    f"BEGIN {_FTS_DELETE} {_FTS_INSERT} END",
]
SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, author, text, content='mention',
        content_rowid='id', tokenize='trigram case_sensitive 0')""",
    *SQLITE_TRIGGERS,
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",  # back-fill the rows stored so far
]
SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{t}" for t in ("ai", "ad", "au")] + [
    f"DROP TABLE IF EXISTS {FTS_TABLE}"]


def fold(word: str) -> str:
    """ASCII letters lower-cased, every other character as it is (the matching rule)."""
    return word.translate(_FOLD)


def matches(word: str, *fields: str) -> bool:
    """The matching rule in Python: what both databases must answer."""
    w = fold(word)
    return any(w in fold(f or "") for f in fields)


def grams(word: str) -> list[str]:
    """The index keys a (folded, whitespace-free) keyword needs."""
    if len(word) <= 2:
        return [word]
    return sorted({word[i:i + 2] for i in range(len(word) - 1)})


def _ascii_caseless_regex(word: str) -> str:
    """A PostgreSQL regular expression matching `word` with ASCII letters in either case."""
    out = []
    for ch in word:
        if "a" <= ch <= "z":
            out.append(f"[{ch}{ch.upper()}]")
        elif ch.isascii() and not ch.isalnum():
            out.append("\\" + ch)  # backslash + a non-alphanumeric character is that character
        else:
            out.append(ch)
    return "".join(out)


def _like(column: Any, word: str, dialect: str) -> Any:
    # SQLite's LIKE folds ASCII only, which is the rule. PostgreSQL: a word without ASCII letters
    # (most Chinese keywords) is matched by a plain LIKE; one with letters by a regular expression
    # with [aA] classes (translate() or ILIKE would cost 20 times more, and ILIKE folds all letters).
    if dialect == "postgresql" and any("a" <= ch <= "z" for ch in word):
        return column.regexp_match(_ascii_caseless_regex(word))
    return column.contains(word, autoescape=True)


def like_clause(words: list[str], dialect: str) -> Any:
    """The matching rule by LIKE alone (no index): for rows already in hand, read in order."""
    return sa.and_(*_likes([fold(w) for w in words if w], dialect))


def _likes(folded: list[str], dialect: str) -> list[Any]:
    return [sa.or_(*(_like(c, w, dialect) for c in (Mention.title, Mention.author, Mention.text)))
            for w in folded]


def keyword_clause(words: list[str], dialect: str) -> Any:
    """Every word must occur in the title, the author or the text."""
    folded = [fold(w) for w in words if w]
    likes = _likes(folded, dialect)
    if dialect == "postgresql":
        keys = sorted({g for w in folded for g in grams(w)})
        expr = sa.func.mention_search_grams(*(sa.collate(c, "C") for c in (  # type: ignore[arg-type]
            Mention.title, Mention.author, Mention.text)), type_=postgresql.ARRAY(sa.Text))
        index = expr.contains(sa.cast(sa.literal(keys, postgresql.ARRAY(sa.Text)), postgresql.ARRAY(sa.Text)))
        return sa.and_(index, *likes)
    if dialect == "sqlite":
        long_words = [w for w in folded if len(w) >= 3]
        if long_words:
            query = " AND ".join('"' + w.replace('"', '""') + '"' for w in long_words)
            fts = sa.text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_query").bindparams(
                fts_query=query)
            return sa.and_(col(Mention.id).in_(fts), *likes)
    return sa.and_(*likes)
