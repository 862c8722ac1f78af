"""Import every table so that metadata (Alembic, tests) sees them all."""

from core.alerts.models import Alert
from core.audit.models import AuditLog
from core.calendar.models import CalendarDay
from core.duty.models import DutyShift, HandoverLog, StaffPost
from core.events.models import Event, EventEngagement
from core.mentions.models import Mention, MentionDay
from core.notify.models import Notification, NotificationChannel
from core.reports.models import BriefingDocument
from core.sources.models import Source
from core.tickets.models import Response, Ticket, TicketTimeline
from core.topics.models import MentionTrack, Track
from core.units.models import Unit
from core.users.models import User

__all__ = [
    "Alert",
    "AuditLog",
    "BriefingDocument",
    "CalendarDay",
    "DutyShift",
    "Event",
    "EventEngagement",
    "HandoverLog",
    "Mention",
    "MentionDay",
    "MentionTrack",
    "Notification",
    "NotificationChannel",
    "Response",
    "Source",
    "StaffPost",
    "Ticket",
    "TicketTimeline",
    "Track",
    "Unit",
    "User",
]
