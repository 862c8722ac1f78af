from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.access import check_assignment, ticket_for, visible_unit
from api.deps import CurrentUser, Dispatcher, Leader, SessionDep
from api.schemas import (
    TicketAssign,
    TicketDetail,
    TicketNotes,
    TicketOpen,
    TicketSignOff,
    TicketTransition,
)
from core.tickets import service as tickets
from core.tickets.models import Response as TicketResponse
from core.tickets.models import (
    ResponseCreate,
    ResponsePublic,
    Ticket,
    TicketPublic,
    TicketTimelinePublic,
)

router = APIRouter(prefix="/api/tickets", tags=["舆情工单"])


@router.get("", response_model=list[TicketPublic])
def list_tickets(session: SessionDep, user: CurrentUser, state: str | None = None,
                 unit_id: int | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0)] = 0) -> list[Ticket]:
    """工单台账（最新在前）；承办人只能看到本单位的工单。"""
    restricted, own_unit = visible_unit(user)
    if restricted:
        if own_unit is None or (unit_id is not None and unit_id != own_unit):
            return []
        unit_id = own_unit
    return tickets.get_all(session=session, state=state, unit_id=unit_id, limit=limit,
                           offset=offset)


@router.post("", response_model=TicketPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "该事件已有工单，返回已有工单"}})
def open_ticket(session: SessionDep, user: Dispatcher, body: TicketOpen,
                response: Response) -> Ticket:
    """由舆情事件开单（每个事件一张工单）；指定单位时同时交办。"""
    check_assignment(session=session, unit_id=body.unit_id, handler_id=body.handler_id)
    ticket, created = tickets.open_from_event(
        session=session, event_id=body.event_id, actor_id=user.id, unit_id=body.unit_id,
        handler_id=body.handler_id, note=body.note)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ticket


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_ticket(session: SessionDep, user: CurrentUser, ticket_id: int) -> TicketDetail:
    """单张工单，含处置时间线和回应记录。"""
    ticket = ticket_for(session=session, user=user, ticket_id=ticket_id)
    return TicketDetail.model_validate({
        **TicketPublic.model_validate(ticket).model_dump(),
        "timeline": [TicketTimelinePublic.model_validate(t)
                     for t in tickets.timeline(session=session, ticket_id=ticket_id)],
        "responses": [ResponsePublic.model_validate(r)
                      for r in tickets.responses(session=session, ticket_id=ticket_id)],
    })


@router.post("/{ticket_id}/assign", response_model=TicketPublic)
def assign(session: SessionDep, user: Dispatcher, ticket_id: int, body: TicketAssign) -> Ticket:
    """交办（或改派）给责任单位和承办人。"""
    check_assignment(session=session, unit_id=body.unit_id, handler_id=body.handler_id)
    return tickets.assign(session=session, ticket_id=ticket_id, actor_id=user.id,
                          unit_id=body.unit_id, handler_id=body.handler_id, note=body.note)


@router.post("/{ticket_id}/transition", response_model=TicketPublic)
def transition(session: SessionDep, user: CurrentUser, ticket_id: int,
               body: TicketTransition) -> Ticket:
    """变更工单状态；不允许的流转返回 409。"""
    ticket_for(session=session, user=user, ticket_id=ticket_id)
    return tickets.transition(session=session, ticket_id=ticket_id, to_state=body.to_state,
                              actor_id=user.id, note=body.note)


@router.post("/{ticket_id}/sign-off", response_model=TicketPublic)
def sign_off(session: SessionDep, user: Leader, ticket_id: int,
             body: TicketSignOff | None = None) -> Ticket:
    """领导审核签发（I、II 级舆情回应前必须）。"""
    assert user.id is not None
    return tickets.sign_off(session=session, ticket_id=ticket_id, leader_id=user.id,
                            note=body.note if body else "")


@router.post("/{ticket_id}/responses", response_model=ResponsePublic,
             status_code=status.HTTP_201_CREATED)
def record_response(session: SessionDep, user: CurrentUser, ticket_id: int,
                    body: ResponseCreate) -> TicketResponse:
    """记录一次公开回应（回应或政策解读）；工单转为已回应。"""
    ticket_for(session=session, user=user, ticket_id=ticket_id)
    return tickets.record_response(session=session, ticket_id=ticket_id, response_in=body,
                                   actor_id=user.id)


@router.patch("/{ticket_id}/notes", response_model=TicketPublic)
def update_notes(session: SessionDep, user: CurrentUser, ticket_id: int,
                 body: TicketNotes) -> Ticket:
    """填写线上情况 / 线下情况。"""
    ticket_for(session=session, user=user, ticket_id=ticket_id)
    return tickets.update_notes(session=session, ticket_id=ticket_id, actor_id=user.id,
                                online_note=body.online_note, offline_note=body.offline_note)
