"""Import every table so that metadata (Alembic, tests) sees them all."""

from core.alerts.models import Alert
from core.events.models import Event
from core.mentions.models import Mention
from core.sources.models import Source
from core.tickets.models import Response, Ticket, TicketTimeline
from core.units.models import Unit
from core.users.models import User

__all__ = ["Alert", "Event", "Mention", "Response", "Source", "Ticket", "TicketTimeline", "Unit", "User"]
