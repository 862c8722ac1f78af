"""Per-source bookkeeping of one crawl: what was fetched, stored, rejected, and why it failed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

# Status of one source in one crawl.
PENDING = "pending"  # not answered yet (crawl stopped early); health is left untouched
OK = "ok"
NOT_MODIFIED = "not_modified"  # HTTP 304: nothing new, still a success
ERROR = "error"
SKIPPED = "skipped"  # circuit breaker open: not fetched, health untouched


_GRAVITY = {"error": 0, "blocked": 1, "captcha": 2, "login_expired": 3}


@dataclass
class SourceReport:
    name: str
    source_id: int | None
    status: str = PENDING
    http_status: int | None = None
    fetched: int = 0  # entries in the response
    filtered: int = 0  # dropped by the source's keywords
    new: int = 0
    duplicate: int = 0
    rejected: int = 0  # invalid items (logged with the reason)
    store_failed: int = 0  # items the database refused for a non-data reason
    pages_failed: int = 0  # secondary pages (articles, threads) that could not be fetched
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    health: str = "error"  # health to record on failure (error | login_expired | blocked ...)
    # Cursor values to save only if everything fetched was stored (else refetch next time).
    new_cursor: dict[str, Any] = field(default_factory=dict)

    def fail(self, reason: str, *, health: str = "error", http_status: int | None = None) -> None:
        # The gravest cause wins: a login wall on one page matters more than a 500 on another.
        if self.status != ERROR or _GRAVITY.get(health, 0) >= _GRAVITY.get(self.health, 0):
            self.health = health
        self.status = ERROR
        self.http_status = http_status if http_status is not None else self.http_status
        self.errors.append(reason)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("new_cursor")
        data.pop("health")
        return data


class CrawlReport:
    """All sources of one spider run, by id (the pipeline) and by name (the summary)."""

    def __init__(self) -> None:
        self._by_name: dict[str, SourceReport] = {}
        self._by_id: dict[int, SourceReport] = {}

    def add(self, name: str, source_id: int | None) -> SourceReport:
        report = SourceReport(name=name, source_id=source_id)
        self._by_name[name] = report
        if source_id is not None:
            self._by_id[source_id] = report
        return report

    def by_id(self, source_id: int | None) -> SourceReport | None:
        return self._by_id.get(source_id) if source_id is not None else None

    def __iter__(self) -> Iterator[SourceReport]:
        return iter(self._by_name.values())

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: r.to_dict() for name, r in self._by_name.items()}
