"""工作台: what waits on the signed-in person first, then what falls due soon."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from core.alerts.models import Alert
from core.alerts.views import AlertRow, rows
from core.tickets import queues
from core.tickets.queues import TicketView
from core.timeutil import ensure_utc, utcnow
from core.users.models import Role, User

WORKSPACE_ROWS = 20
MINE_LABELS = {Role.handler: "待我处理", Role.leader: "待我签发", Role.duty: "待交办", Role.admin: "待交办"}


class WorkspaceCounts(BaseModel):
    mine: int
    unit: int
    due_soon: int
    overdue: int
    review: int
    open_alerts: int  # 0 for handlers, who do not sign for alerts


class Workspace(BaseModel):
    role: str
    mine_label: str
    waiting_on_me: list[TicketView]
    overdue: list[TicketView]
    due_soon: list[TicketView]
    alerts: list[AlertRow]  # open alerts, newest first (duty, leader, admin)
    counts: WorkspaceCounts


def for_user(*, session: Session, user: User, now: datetime | None = None) -> Workspace:
    """The signed-in person's queue: waiting on me, overdue, due soon, open alerts."""
    now = ensure_utc(now) if now else utcnow()

    def queue(name: str) -> list[TicketView]:
        found = queues.get_queue(session=session, user=user, queue=name, limit=WORKSPACE_ROWS, now=now)
        return queues.views(session=session, items=found, with_posts=name == "mine"
                            and user.role == Role.leader, now=now)

    counts = queues.counts(session=session, user=user, now=now)
    sees_alerts = user.role != Role.handler
    open_alerts = int(session.exec(select(func.count()).select_from(Alert)
                                   .where(col(Alert.status) == "open")).one()) if sees_alerts else 0
    return Workspace(
        role=user.role, mine_label=MINE_LABELS.get(Role(user.role), "待我处理"),
        waiting_on_me=queue("mine"), overdue=queue("overdue"), due_soon=queue("due_soon"),
        alerts=rows(session=session, state="open", limit=WORKSPACE_ROWS) if sees_alerts else [],
        counts=WorkspaceCounts(**counts, open_alerts=open_alerts))
