"""The redacting log filter formats only records a handler will write (Scrapy logs every item at DEBUG)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.redact import guard_loggers


class Costly:
    """An argument that counts how often it is formatted (Scrapy's item in "Scraped from ...")."""

    formatted = 0

    def __repr__(self) -> str:
        Costly.formatted += 1
        return "<item>"

    __str__ = __repr__


@contextmanager
def only_handler(logger: logging.Logger, handler: logging.Handler) -> Iterator[None]:
    """The logger writes to this handler alone (pytest's capture handlers take every level)."""
    saved, propagate = list(logger.handlers), logger.propagate
    logger.handlers, logger.propagate = [handler], False
    try:
        yield
    finally:
        logger.handlers, logger.propagate = saved, propagate


@pytest.fixture
def guarded() -> tuple[logging.Logger, logging.Handler, io.StringIO]:
    logger = logging.getLogger("yuqing.tests.redact_cost")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.INFO)
    logger.setLevel(logging.DEBUG)
    guard_loggers(logger.name)
    Costly.formatted = 0
    return logger, handler, stream


def test_record_below_every_handler_is_not_formatted(
        guarded: tuple[logging.Logger, logging.Handler, io.StringIO]) -> None:
    logger, handler, stream = guarded
    with only_handler(logger, handler):
        logger.debug("Scraped from %(src)s\n%(item)s", {"src": "<200 https://a.example/feed>", "item": Costly()})
    assert Costly.formatted == 0
    assert stream.getvalue() == ""


def test_written_record_is_still_masked(guarded: tuple[logging.Logger, logging.Handler, io.StringIO]) -> None:
    logger, handler, stream = guarded
    with only_handler(logger, handler):
        logger.info("GET %(url)s %(item)s", {"url": "https://a.example/feed?key=sk9f8e7d6c5b4a3210", "item": Costly()})
        logger.warning("retry %s", "https://a.example/rss?access_token=tok1234567890abcdef")
    assert Costly.formatted == 1
    assert "sk9f8e7d6c5b4a3210" not in stream.getvalue()
    assert "tok1234567890abcdef" not in stream.getvalue()
    assert "https://a.example/feed" in stream.getvalue()
