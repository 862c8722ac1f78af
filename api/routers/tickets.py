from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field, StrictBool

from api.access import Visible, check_assignment, check_units, ticket_for
from api.deps import CurrentUser, Dispatcher, SessionDep
from api.params import IdempotencyKey, IdPath, IdQuery, OffsetQuery
from api.schemas import TicketNotes, TicketOpen, TicketTransition
from core.bounds import DbId
from core.errors import InvalidInput
from core.tickets import queues, rules
from core.tickets import service as tickets
from core.tickets.models import Response as TicketResponse
from core.tickets.models import (
    ResponseCreate,
    ResponsePublic,
    Ticket,
    TicketClockPausePublic,
    TicketTimelinePublic,
)
from core.tickets.queues import TicketView
from core.users.models import Role

router = APIRouter(prefix="/api/tickets", tags=["舆情工单"])


class TicketAssignIn(BaseModel):
    unit_id: DbId  # 牵头单位 (lead)
    handler_id: DbId | None = None
    assisting_unit_ids: list[DbId] | None = Field(default=None, max_length=100)  # 协办单位; omitted: unchanged
    note: str = Field(default="", max_length=2000)


class TicketUnitsIn(BaseModel):
    assisting_unit_ids: list[DbId] = Field(max_length=100)


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=2000)


class ExtendIn(BaseModel):
    working_days: int = Field(ge=1, le=60)
    reason: str = Field(min_length=1, max_length=500)


class ReviewIn(BaseModel):
    confidentiality_ok: StrictBool  # 保密审查 passed
    note: str = Field(default="", max_length=2000)


class SignOffIn(BaseModel):
    note: str = Field(default="", max_length=2000)
    # The leader attests the 保密审查 when nobody reviewed the draft before.
    confidentiality_checked: StrictBool = True


class DraftIn(BaseModel):
    text: str = Field(max_length=20000)


class TicketDetailView(TicketView):
    timeline: list[TicketTimelinePublic]
    responses: list[ResponsePublic]
    pauses: list[TicketClockPausePublic]


def view(session: SessionDep, ticket: Ticket) -> TicketView:
    """A ticket with its names, assisting units and deadlines, as every endpoint returns it."""
    return queues.view(session=session, ticket=ticket)


@router.get("", response_model=list[TicketView])
def list_tickets(session: SessionDep, scope: Visible, user: CurrentUser,
                 queue: Annotated[queues.Queue, Query(
                     description="mine 待我处理（领导：待我签发；值班：待交办）/ unit 本单位在办 / due_soon 即将超期 / "
                                 "overdue 已超期 / closed 已办结（含误报）/ review 待审核 / all 全部")] = "all",
                 q: Annotated[str, Query(max_length=100, description="按标题、备注、回应稿或工单号搜索")] = "",
                 state: str | None = None, unit_id: IdQuery = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: OffsetQuery = 0) -> list[TicketView]:
    """工单队列；承办人只能看到本单位牵头或协办的工单。待审核队列附回应稿所答复的原帖。"""
    if state is None and unit_id is None:
        found = queues.get_queue(session=session, user=user, queue=queue, q=q, limit=limit, offset=offset)
    else:  # the ledger's older filters, still scoped to the handler's unit
        found = tickets.get_all(session=session, state=state, unit_id=unit_id, limit=limit, offset=offset,
                                scope=scope)
    # The leader signs what answers the posts: his queues carry them.
    with_posts = queue == "review" or (queue == "mine" and user.role == Role.leader)
    return queues.views(session=session, items=found, with_posts=with_posts)


@router.post("", response_model=TicketView, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "该事件已有工单，返回已有工单"}})
def open_ticket(session: SessionDep, user: CurrentUser, body: TicketOpen,
                response: Response) -> TicketView:
    """开单：由舆情事件开单（每个事件一张工单），可同时交办牵头单位、承办人和协办单位；该事件的预警随之关闭。"""
    rules.require(user.role, "open")
    check_assignment(session=session, unit_id=body.unit_id, handler_id=body.handler_id)
    check_units(session=session, unit_ids=body.assisting_unit_ids)
    if body.assisting_unit_ids and body.unit_id is None:
        raise InvalidInput("指定协办单位时须同时指定牵头单位")
    ticket, created = tickets.open_from_event(
        session=session, event_id=body.event_id, actor_id=user.id, unit_id=body.unit_id,
        handler_id=body.handler_id, note=body.note, assisting_unit_ids=body.assisting_unit_ids or None)
    if not created:
        response.status_code = status.HTTP_200_OK
    return view(session, ticket)


@router.get("/false-alarms", response_model=list[dict[str, str]])
def false_alarms(session: SessionDep, _: Dispatcher) -> list[dict[str, str]]:
    """误报工单的原帖，作为分类器训练样本（topic=other）。"""
    return tickets.false_alarm_samples(session=session)


@router.get("/{ticket_id:int}", response_model=TicketDetailView)
def get_ticket(session: SessionDep, user: CurrentUser, ticket_id: IdPath) -> TicketDetailView:
    """单张工单，含时限、回应稿、所答复的原帖、处置时间线、计时暂停和回应记录。"""
    ticket = ticket_for(session=session, user=user, ticket_id=ticket_id)
    return TicketDetailView.model_validate({
        **queues.view(session=session, ticket=ticket, with_posts=True).model_dump(),
        "timeline": [TicketTimelinePublic.model_validate(t)
                     for t in tickets.timeline(session=session, ticket_id=ticket_id)],
        "responses": [ResponsePublic.model_validate(r)
                      for r in tickets.responses(session=session, ticket_id=ticket_id)],
        "pauses": [TicketClockPausePublic.model_validate(p)
                   for p in tickets.pauses(session=session, ticket_id=ticket_id)],
    })


@router.get("/{ticket_id:int}/timeline", response_model=list[TicketTimelinePublic])
def get_timeline(session: SessionDep, user: CurrentUser, ticket_id: IdPath) -> list[Any]:
    """处置时间线（每次变更、提醒和督办）。"""
    ticket_for(session=session, user=user, ticket_id=ticket_id)
    return list(tickets.timeline(session=session, ticket_id=ticket_id))


@router.post("/{ticket_id:int}/assign", response_model=TicketView)
def assign(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: TicketAssignIn) -> TicketView:
    """交办（或改派）给牵头单位和承办人，可同时指定协办单位。"""
    rules.require(user.role, "assign")
    check_assignment(session=session, unit_id=body.unit_id, handler_id=body.handler_id)
    check_units(session=session, unit_ids=body.assisting_unit_ids or [])
    ticket = tickets.assign(session=session, ticket_id=ticket_id, actor_id=user.id, unit_id=body.unit_id,
                            handler_id=body.handler_id, note=body.note,
                            assisting_unit_ids=body.assisting_unit_ids)
    return view(session, ticket)


@router.put("/{ticket_id:int}/units", response_model=TicketView)
def set_units(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: TicketUnitsIn) -> TicketView:
    """设置协办单位。"""
    rules.require(user.role, "units")
    check_units(session=session, unit_ids=body.assisting_unit_ids)
    tickets.set_assisting_units(session=session, ticket_id=ticket_id, unit_ids=body.assisting_unit_ids,
                                actor_id=user.id)
    return view(session, tickets.get(session=session, ticket_id=ticket_id))


@router.post("/{ticket_id:int}/transition", response_model=TicketView)
def transition(session: SessionDep, user: CurrentUser, ticket_id: IdPath,
               body: TicketTransition) -> TicketView:
    """变更工单状态；不允许的流转返回 409，无权的流转（如承办人重新打开已办结工单）返回 403。"""
    current = ticket_for(session=session, user=user, ticket_id=ticket_id, lead_only=True)
    rules.require_transition(user.role, current.state, body.to_state)
    if body.to_state == "review":  # 提交审核: the leader must have a draft to read
        return view(session, tickets.submit_for_review(session=session, ticket_id=ticket_id,
                                                       actor_id=user.id, note=body.note))
    ticket = tickets.transition(session=session, ticket_id=ticket_id, to_state=body.to_state,
                                actor_id=user.id, note=body.note)
    return view(session, ticket)


@router.post("/{ticket_id:int}/dismiss", response_model=TicketView)
def dismiss(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: Reason) -> TicketView:
    """标记误报（须填写原因，原帖进入分类器训练样本）。"""
    rules.require(user.role, "dismiss")
    return view(session, tickets.dismiss(session=session, ticket_id=ticket_id, actor_id=user.id,
                                         reason=body.reason))


@router.post("/{ticket_id:int}/reopen", response_model=TicketView)
def reopen(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: Reason) -> TicketView:
    """重新打开已办结或误报的工单。"""
    rules.require(user.role, "reopen")
    return view(session, tickets.reopen(session=session, ticket_id=ticket_id, actor_id=user.id,
                                        note=body.reason))


@router.post("/{ticket_id:int}/pause", response_model=TicketView)
def pause(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: Reason) -> TicketView:
    """暂停计时（如待上级部门答复），暂停时间不计入时限。"""
    rules.require(user.role, "pause")
    ticket_for(session=session, user=user, ticket_id=ticket_id, lead_only=True)
    return view(session, tickets.pause(session=session, ticket_id=ticket_id, actor_id=user.id,
                                       reason=body.reason))


@router.post("/{ticket_id:int}/resume", response_model=TicketView)
def resume(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: NoteIn | None = None) -> TicketView:
    """恢复计时，各时限顺延暂停时长。"""
    rules.require(user.role, "pause")
    ticket_for(session=session, user=user, ticket_id=ticket_id, lead_only=True)
    return view(session, tickets.resume(session=session, ticket_id=ticket_id, actor_id=user.id,
                                        note=body.note if body else ""))


@router.post("/{ticket_id:int}/extend", response_model=TicketView)
def extend(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: ExtendIn) -> TicketView:
    """延长办结时限（工作日，须领导批准）。"""
    rules.require(user.role, "extend")
    return view(session, tickets.extend(session=session, ticket_id=ticket_id, actor_id=user.id,
                                        working_days=body.working_days, reason=body.reason))


@router.post("/{ticket_id:int}/review", response_model=TicketView)
def review(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: ReviewIn) -> TicketView:
    """审核回应稿（含保密审查）；未通过则退回处置中。"""
    rules.require(user.role, "review")
    assert user.id is not None
    return view(session, tickets.review(session=session, ticket_id=ticket_id, reviewer_id=user.id,
                                        confidentiality_ok=body.confidentiality_ok, note=body.note))


@router.post("/{ticket_id:int}/sign-off", response_model=TicketView)
def sign_off(session: SessionDep, user: CurrentUser, ticket_id: IdPath,
             body: SignOffIn | None = None) -> TicketView:
    """领导审核签发（I、II 级舆情回应前必须）。"""
    rules.require(user.role, "sign_off")
    assert user.id is not None
    body = body or SignOffIn()
    return view(session, tickets.sign_off(session=session, ticket_id=ticket_id, leader_id=user.id,
                                          note=body.note, confidentiality_checked=body.confidentiality_checked))


@router.get("/{ticket_id:int}/responses", response_model=list[ResponsePublic])
def list_responses(session: SessionDep, user: CurrentUser, ticket_id: IdPath) -> list[TicketResponse]:
    """工单的全部公开回应。"""
    ticket_for(session=session, user=user, ticket_id=ticket_id)
    return tickets.responses(session=session, ticket_id=ticket_id)


@router.post("/{ticket_id:int}/responses", response_model=ResponsePublic,
             status_code=status.HTTP_201_CREATED,
             responses={200: {"model": ResponsePublic, "description": "同一 Idempotency-Key 已记录过，返回已有回应"}})
def record_response(session: SessionDep, user: CurrentUser, ticket_id: IdPath,
                    body: ResponseCreate, response: Response,
                    idempotency_key: IdempotencyKey = None) -> TicketResponse:
    """记录一次公开回应（回应或政策解读）；工单转为已回应。带 Idempotency-Key 重试不会重复记录。"""
    rules.require(user.role, "respond")
    ticket_for(session=session, user=user, ticket_id=ticket_id, lead_only=True)
    if idempotency_key and tickets.response_by_key(session=session, ticket_id=ticket_id,
                                                   idempotency_key=idempotency_key):
        response.status_code = status.HTTP_200_OK
    return tickets.record_response(session=session, ticket_id=ticket_id, response_in=body,
                                   actor_id=user.id, idempotency_key=idempotency_key)


@router.patch("/{ticket_id:int}/notes", response_model=TicketView)
def update_notes(session: SessionDep, user: CurrentUser, ticket_id: IdPath,
                 body: TicketNotes) -> TicketView:
    """填写线上情况 / 线下情况（协办单位也可填写）。"""
    rules.require(user.role, "notes")
    ticket_for(session=session, user=user, ticket_id=ticket_id)
    return view(session, tickets.update_notes(session=session, ticket_id=ticket_id, actor_id=user.id,
                                              online_note=body.online_note, offline_note=body.offline_note))


@router.put("/{ticket_id:int}/draft", response_model=TicketView)
def save_draft(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: DraftIn) -> TicketView:
    """保存回应稿（牵头单位承办人或值班人员）；已交办的工单随之转为处置中，待审核时不能修改。"""
    rules.require(user.role, "work")
    ticket_for(session=session, user=user, ticket_id=ticket_id, lead_only=True)
    return view(session, tickets.save_draft(session=session, ticket_id=ticket_id, text=body.text,
                                            actor_id=user.id))


@router.post("/{ticket_id:int}/return", response_model=TicketView)
def return_draft(session: SessionDep, user: CurrentUser, ticket_id: IdPath, body: Reason) -> TicketView:
    """领导退回回应稿（待审核 → 处置中），须填写原因。"""
    rules.require(user.role, "review")
    return view(session, tickets.return_draft(session=session, ticket_id=ticket_id, actor_id=user.id,
                                              reason=body.reason))
