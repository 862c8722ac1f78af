"""Who may do what to a ticket: one rule per action, whichever route reaches it.

A state change is classified into an action by where it goes from and to (closed →
handling is a reopen whether it came through /reopen or /transition), and each action
has one set of roles. Routes call `require` / `require_transition`; the unit check
(a handler works only on his unit's tickets) stays with the route's ticket lookup.
"""

from __future__ import annotations

from core.errors import Forbidden
from core.tickets.models import TicketState
from core.tickets.service import TRANSITIONS

S = TicketState
EVERYONE = frozenset({"admin", "leader", "duty", "handler"})
DISPATCHERS = frozenset({"admin", "leader", "duty"})  # 值班/领导/管理员: triage and hand out
LEADERS = frozenset({"admin", "leader"})

ACTION_ROLES: dict[str, frozenset[str]] = {
    "open": DISPATCHERS,  # 开单
    "assign": DISPATCHERS,  # 交办 / 改派
    "units": DISPATCHERS,  # 协办单位
    "dismiss": DISPATCHERS,  # 误报
    "reopen": DISPATCHERS,  # 重新打开 (closed → handling, dismissed → triage)
    "work": EVERYONE,  # 处置: start, send for review, withdraw, close after responding
    "pause": EVERYONE,  # 暂停/恢复计时
    "respond": EVERYONE,  # 记录回应 (grades I-II only after sign-off; see the service)
    "notes": EVERYONE,  # 线上/线下情况
    "extend": LEADERS,  # 延期办结
    "review": LEADERS,  # 审核（保密审查）
    "sign_off": LEADERS,  # 签发
}
ACTION_LABELS = {
    "open": "开单", "assign": "交办", "units": "设置协办单位", "dismiss": "标记误报",
    "reopen": "重新打开工单", "work": "办理", "pause": "暂停或恢复计时", "respond": "记录回应",
    "notes": "填写处置情况", "extend": "延长办结时限", "review": "审核", "sign_off": "签发",
}


def transition_action(from_state: str, to_state: str) -> str:
    """The action a state change is: reopen, dismiss, assign, or ordinary work.

    A move the state machine does not allow is "work": the service refuses it (409) for
    everyone, so the answer does not depend on who asked.
    """
    if to_state not in TRANSITIONS.get(from_state, set()):
        return "work"
    if from_state in {S.closed, S.dismissed} or to_state == S.triage:
        return "reopen"
    if to_state == S.dismissed:
        return "dismiss"
    if to_state == S.assigned:
        return "assign"
    return "work"


def allowed(role: str, action: str) -> bool:
    """Whether `role` may do `action` (unknown actions: nobody)."""
    return role in ACTION_ROLES.get(action, frozenset())


def require(role: str, action: str) -> None:
    """Raise Forbidden unless `role` may do `action`."""
    if not allowed(role, action):
        raise Forbidden(f"当前账号无权{ACTION_LABELS.get(action, action)}")


def require_transition(role: str, from_state: str, to_state: str) -> None:
    """Raise Forbidden unless `role` may move a ticket from `from_state` to `to_state`."""
    require(role, transition_action(from_state, to_state))
