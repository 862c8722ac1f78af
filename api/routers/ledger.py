from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.access import Visible
from api.deps import Dispatcher, SessionDep
from api.params import IdQuery
from core.audit import service as audit
from core.audit.models import AuditLogPublic
from core.errors import InvalidInput
from core.ledger import service as ledger
from core.reports.service import year_bounds
from core.timeutil import SHANGHAI, ensure_utc

router = APIRouter(prefix="/api/ledger", tags=["台账"])
audit_router = APIRouter(prefix="/api/audit", tags=["台账"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("", responses={200: {"description": "json：台账行；csv、xlsx：文件下载", "content": {
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    "text/csv": {"schema": {"type": "string"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def get_ledger(session: SessionDep, scope: Visible,
               year: Annotated[int | None, Query(ge=2000, le=2100, description="开单年份")] = None,
               since: Annotated[date | None, Query(description="起始日（北京时间，含），代替 year")] = None,
               until: Annotated[date | None, Query(description="结束日（北京时间，含）")] = None,
               format: Literal["json", "csv", "xlsx"] = "json") -> Any:
    """舆情台账（按开单时间，year 或 since+until）：json、csv 或 xlsx；承办人只能导出本单位的工单。"""
    if since is not None or until is not None:
        if since is None or until is None or year is not None:
            raise InvalidInput("请同时填写起始日和结束日（since、until），或只填年份（year）")
        if since > until:
            raise InvalidInput("起始日不能晚于结束日")
        if not (since.year >= 2000 and until.year <= 2100):
            raise InvalidInput("日期超出范围")
        start = ensure_utc(datetime.combine(since, time(), SHANGHAI))
        end = ensure_utc(datetime.combine(until + timedelta(days=1), time(), SHANGHAI))
        name, title = f"yuqing-ledger-{since}_{until}", "舆情台账"
        period = f"{since:%Y年%m月%d日}至{until:%Y年%m月%d日}"
    elif year is not None:
        start, end = year_bounds(year)
        name, title, period = f"yuqing-ledger-{year}", f"{year}年舆情台账", f"{year}年1月1日至{year}年12月31日"
    else:
        raise InvalidInput("请填写年份（year）或起止日期（since、until）")
    rows = ledger.rows(session=session, start=start, end=end, scope=scope)
    if format == "csv":
        return Response(ledger.to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "xlsx":
        return Response(ledger.to_xlsx(rows, title=title, period=period), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    # Serialized here: FastAPI's jsonable_encoder walks every value of the ~35 columns of each row
    # (most of the time of a year's ledger); the rows hold only str, int, float, bool and None
    # (dates are formatted strings), which json encodes in C, as JSONResponse would.
    return Response(json.dumps(rows, ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                               default=_json_default).encode(), media_type="application/json")


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@audit_router.get("", response_model=list[AuditLogPublic])
def get_audit(session: SessionDep, _: Dispatcher, entity: str | None = None, entity_id: IdQuery = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[Any]:
    """变更记录（预警、排班、回应、通知渠道等），最早在前。"""
    return list(audit.get_all(session=session, entity=entity, entity_id=entity_id, limit=limit))
