"""Limits every integer that reaches the database must respect.

Ids are PostgreSQL ``integer`` (int4) and SQLite refuses anything past int64: an unbounded
``int`` in a request turned a fuzzer's 2**70 into a 500. Request models and route parameters use
these types (api/params.py wraps them for paths and queries), so a too-large number is a 422.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT4_MAX = 2_147_483_647
# Paging further than this is never a real request (and OFFSET is a bigint in PostgreSQL).
MAX_OFFSET = 1_000_000
# Minutes: a year is the longest schedule or gap anyone configures.
MAX_MINUTES = 366 * 24 * 60

DbId = Annotated[int, Field(ge=1, le=INT4_MAX)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Minutes = Annotated[int, Field(ge=1, le=MAX_MINUTES)]
