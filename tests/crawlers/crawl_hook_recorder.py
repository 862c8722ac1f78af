"""The on_stored hook the crawler tests plug in; it runs inside the crawl child process.

It checks each announced id from a separate database connection, which shows that the
mention's transaction had committed before it was announced (what a worker would see).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

import sqlalchemy as sa

from core.config import get_settings
from core.db import make_engine


def record(ids: Iterable[int]) -> None:
    ids = list(ids)
    engine = make_engine(get_settings().resolved_database_url)
    try:
        with engine.connect() as conn:
            visible = {i for i in ids
                       if conn.execute(sa.text("SELECT 1 FROM mention WHERE id = :id"),
                                       {"id": i}).first()}
    finally:
        engine.dispose()
    with open(os.environ["YUQING_TEST_STORED_LOG"], "a", encoding="utf-8") as log:
        for i in ids:
            log.write(json.dumps({"id": i, "committed": i in visible}) + "\n")
