"""Who sees what, written once: every query that lists or reads tickets, events, mentions or
alerts for a person goes through a Scope (deny by default).

Admins, leaders and duty staff see the whole office. A unit handler sees the tickets his unit
leads or assists on (协办), and the events, mentions and alerts attached to them; nothing else.
A role outside the closed set gets no scope at all.

专题 (core/topics): duty staff, leaders and admins define, edit and delete topics
(DEFINES_TRACKS). Every role may list the topics and open one, but what a topic shows (its
tagged mentions, their events and tickets, every figure and chart, the 专报) passes through
the same Scope as everything else: a handler's topic page counts only his unit's matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.errors import Forbidden
from core.users.models import Role, known_role

OFFICE_WIDE = frozenset({Role.admin.value, Role.leader.value, Role.duty.value})
DEFINES_TRACKS = OFFICE_WIDE  # who may define, edit and delete 专题


@dataclass(frozen=True)
class Scope:
    """What one person may see: everything (`unit_id` unused) or one unit's tickets."""

    restricted: bool
    unit_id: int | None = None

    # Filters for SQL statements; each is `true` for an office-wide scope.
    def tickets(self) -> Any:
        """A condition on Ticket: led or assisted by the unit."""
        from core.tickets.models import Ticket, TicketUnit

        if not self.restricted:
            return sa.true()
        if self.unit_id is None:
            return sa.false()
        assisting = select(TicketUnit.ticket_id).where(
            TicketUnit.unit_id == self.unit_id, col(TicketUnit.removed_at).is_(None))
        return sa.or_(col(Ticket.unit_id) == self.unit_id, col(Ticket.id).in_(assisting))

    def event_ids(self) -> Any:
        """A subquery of the ids of visible events (those with a visible ticket)."""
        from core.tickets.models import Ticket

        return select(Ticket.event_id).where(col(Ticket.event_id).is_not(None), self.tickets())

    def events(self) -> Any:
        """A condition on Event."""
        from core.events.models import Event

        return sa.true() if not self.restricted else col(Event.id).in_(self.event_ids())

    def mentions(self) -> Any:
        """A condition on Mention: attached to a visible event."""
        from core.mentions.models import Mention

        return sa.true() if not self.restricted else col(Mention.event_id).in_(self.event_ids())

    def alerts(self) -> Any:
        """A condition on Alert: about a visible event (source-health alerts are office-wide)."""
        from core.alerts.models import Alert

        return sa.true() if not self.restricted else col(Alert.event_id).in_(self.event_ids())

    def sees_office(self) -> bool:
        """Whether office-wide material (sources, annual figures) is visible."""
        return not self.restricted


OFFICE = Scope(restricted=False)
NOTHING = Scope(restricted=True, unit_id=None)


def scope_for(*, role: str, unit_id: int | None) -> Scope:
    """The scope of a person of this role and unit; an unknown role is refused."""
    if not known_role(role):
        raise Forbidden("账号角色无效，无权访问")
    if role in OFFICE_WIDE:
        return OFFICE
    return Scope(restricted=True, unit_id=unit_id)


def _visible(session: Session, stmt: Any) -> bool:
    return session.exec(stmt.limit(1)).first() is not None


def can_see_ticket(*, session: Session, scope: Scope, ticket_id: int) -> bool:
    from core.tickets.models import Ticket

    return not scope.restricted or _visible(session, select(Ticket.id).where(Ticket.id == ticket_id,
                                                                              scope.tickets()))


def can_see_event(*, session: Session, scope: Scope, event_id: int) -> bool:
    from core.events.models import Event

    return not scope.restricted or _visible(session, select(Event.id).where(Event.id == event_id,
                                                                             scope.events()))


def can_see_mention(*, session: Session, scope: Scope, mention_id: int) -> bool:
    from core.mentions.models import Mention

    return not scope.restricted or _visible(session, select(Mention.id).where(Mention.id == mention_id,
                                                                               scope.mentions()))
