from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.access import Visible
from api.deps import Dispatcher, SessionDep
from api.params import IdQuery
from core.audit import service as audit
from core.audit.models import AuditLogPublic
from core.ledger import service as ledger
from core.reports.service import year_bounds

router = APIRouter(prefix="/api/ledger", tags=["台账"])
audit_router = APIRouter(prefix="/api/audit", tags=["台账"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("", responses={200: {"description": "json：台账行；csv、xlsx：文件下载", "content": {
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    "text/csv": {"schema": {"type": "string"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def get_ledger(session: SessionDep, scope: Visible, year: Annotated[int, Query(ge=2000, le=2100)],
               format: Literal["json", "csv", "xlsx"] = "json") -> Any:
    """舆情台账（按开单年份）：json、csv 或 xlsx；承办人只能导出本单位的工单。"""
    start, end = year_bounds(year)
    rows = ledger.rows(session=session, start=start, end=end, scope=scope)
    name = f"yuqing-ledger-{year}"
    if format == "csv":
        return Response(ledger.to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "xlsx":
        return Response(ledger.to_xlsx(rows, title=f"{year}年舆情台账"), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return rows


@audit_router.get("", response_model=list[AuditLogPublic])
def get_audit(session: SessionDep, _: Dispatcher, entity: str | None = None, entity_id: IdQuery = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[Any]:
    """变更记录（预警、排班、回应、通知渠道等），最早在前。"""
    return list(audit.get_all(session=session, entity=entity, entity_id=entity_id, limit=limit))
