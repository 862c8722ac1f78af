"""热线与人工录入、12345/留言板导出文件导入。"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from api.deps import Dispatcher, SessionDep
from api.params import IdempotencyKey
from api.persist import reload
from core.config import get_settings
from core.errors import TooLarge
from core.intake import service as intake
from core.mentions.models import Mention, MentionPublic
from worker.dispatch import enqueue_mentions

router = APIRouter(prefix="/api/intake", tags=["热线与导入"])


@router.post("/calls", response_model=MentionPublic, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "同一来电（工单编号）已录入过，返回已有记录"}})
def record_call(session: SessionDep, user: Dispatcher, call: intake.CallCreate, response: Response,
                idempotency_key: IdempotencyKey = None) -> Mention:
    """记录一次热线来电或人工录入（值班人员、领导；带 Idempotency-Key 重试不会重复录入）。

    来电人联系方式仅内部保存，不在任何接口中返回。
    """
    result = intake.record_call(session=session, call=call, recorded_by=user.username,
                                idempotency_key=idempotency_key, user_id=user.id)
    session.commit()  # the queue carries ids of committed rows only
    if result.created and result.mention.id is not None:
        enqueue_mentions([result.mention.id])
    else:
        response.status_code = status.HTTP_200_OK
    return reload(session, result.mention)


@router.post("/import")
def import_file(session: SessionDep, _: Dispatcher, file: Annotated[UploadFile, File()],
                channel: Annotated[str, Form()] = "hotline") -> dict[str, object]:
    """导入 12345 热线或留言板导出的 CSV/Excel 文件，返回接收、重复和拒绝的行数及原因。

    文件超过上限、行数超过上限或 Excel 解压后过大时返回 413。
    """
    # A plain def: FastAPI runs it in a worker thread, so parsing never blocks the event loop
    # (an async def here froze /api/health for 32 s on a 1 M-row sheet).
    limit = get_settings().max_upload_bytes
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"文件超过 {limit // 1024 // 1024}MB，请拆分后导入")
    report = intake.import_table(session=session, filename=file.filename or "upload.csv", content=content,
                                 channel=channel)
    session.commit()
    enqueue_mentions(report.new_ids)
    return report.to_dict()
