"""After a commit: what a create endpoint answers even when reading the row back fails."""

from __future__ import annotations

import logging
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

log = logging.getLogger(__name__)
T = TypeVar("T")


def reload(session: Session, row: T) -> T:
    """The committed row as stored now (e.g. analyzed by the embedded queue), or as it was committed.

    The row is stored already: a failure to read it back (a locked SQLite file, a dropped
    connection) must not turn a successful create into a 500 that makes the client retry.
    """
    try:
        session.refresh(row)
    except SQLAlchemyError:
        log.warning("could not reload %s after commit; answering with the committed values", row, exc_info=True)
        session.rollback()
    return row
