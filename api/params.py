"""Route parameter types shared by every router: bounded, so nothing overflows the database.

An id in a path or a query is a positive int4 (core.bounds); a number outside answers 422
with the bounds in the published schema instead of a 500 from the driver.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path, Query

from core.bounds import INT4_MAX, MAX_OFFSET

IdPath = Annotated[int, Path(ge=1, le=INT4_MAX)]
IdQuery = Annotated[int | None, Query(ge=1, le=INT4_MAX)]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]

# A client's own id for one create request: a retry with the same key (same user) stores nothing new
# and answers 200 with what the first request stored.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=100,
                                              description="客户端为本次新建生成的唯一键；重试时带同一键不会重复录入")]
