"""Hotline calls and manual entries, and imports of 12345 / message-board exports (CSV, Excel).

Everything goes through core.mentions.ingest, so a re-imported file or a resent call is
stored once. A caller's phone or address goes to Mention.contact, which no public model or
export carries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from core.config import get_settings
from core.errors import InvalidInput, TooLarge
from core.mentions import service as mentions
from core.mentions.models import MentionCreate
from core.timeutil import SHANGHAI, InputTime

MAX_ROWS = 20000
MAX_REJECTIONS_LISTED = 200
MAX_REASON_CHARS = 200

# Column names seen in 12345 / 留言板 exports, by what they hold (matched case-insensitively).
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("工单编号", "受理编号", "留言编号", "编号", "序列号", "序号", "id", "tid", "工单号", "来电编号"),
    "title": ("标题", "留言主题", "诉求标题", "主题", "subject", "title", "事项标题"),
    "text": ("内容", "留言详情", "投诉件内容", "诉求内容", "来电内容", "详情", "content", "text", "留言内容",
             "问题描述", "反映内容"),
    "published_at": ("时间", "留言时间", "来电时间", "受理时间", "发布时间", "dateline", "time", "创建时间",
                     "登记时间", "日期"),
    "author": ("留言用户", "来电人", "姓名", "反映人", "诉求人", "user", "author", "nickname", "网民"),
    "contact": ("联系电话", "电话", "手机", "联系方式", "来电号码", "contact", "phone"),
    "address": ("地址", "诉求地址", "事发地址", "address"),
}


class CallCreate(BaseModel):
    """A hotline call (or a walk-in) as the duty officer records it."""

    channel: str = Field(default="hotline", pattern="^(hotline|manual)$")
    title: str = Field(default="", max_length=500)
    text: str = Field(default="", max_length=20000)
    caller: str = Field(default="", max_length=200)  # name as given; may be empty (匿名)
    contact: str = Field(default="", max_length=200)  # private: phone or address
    address: str = Field(default="", max_length=300)  # where the problem is (not private)
    received_at: InputTime | None = None
    call_id: str | None = Field(default=None, max_length=300)  # the hotline system's number


def record_call(*, session: Session, call: CallCreate, recorded_by: str = "", idempotency_key: str | None = None,
                user_id: int | None = None) -> mentions.IngestResult:
    """Store a call as a mention; the same call_id (or the same client idempotency key) twice is stored once."""
    if not (call.title.strip() or call.text.strip()):
        raise InvalidInput("来电标题和内容不能都为空")
    text = call.text.strip()
    if call.address.strip():
        text = f"{text}\n地址：{call.address.strip()}".strip()
    received = call.received_at
    if received is not None and received.tzinfo is None:
        received = received.replace(tzinfo=SHANGHAI)  # the officer types Beijing time
    if not call.call_id and idempotency_key:
        external_id = mentions.keyed_external_id(call.channel, user_id, idempotency_key)
    else:
        external_id = call.call_id or f"{call.channel}-" + hashlib.sha1(
        f"{call.title}\n{text}\n{received}\n{call.contact}".encode()).hexdigest()
    mention_in = MentionCreate(
        channel=call.channel, external_id=external_id, title=call.title.strip(), text=text,
        author=call.caller.strip() or "匿名来电", published_at=received, contact=call.contact.strip(),
        raw=json.dumps({"recorded_by": recorded_by, "call_id": call.call_id}, ensure_ascii=False))
    return mentions.ingest(session=session, mention_in=mention_in)


@dataclass
class Rejection:
    row: int  # 1-based row number in the sheet, header row included (as a spreadsheet shows it)
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    accepted: int = 0  # newly stored
    duplicates: int = 0  # already stored (earlier import, or twice in this file)
    rejected: list[Rejection] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # our field -> the file's column
    new_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "accepted": self.accepted, "duplicates": self.duplicates,
                "rejected_count": len(self.rejected), "columns": self.columns,
                # A reason may quote a cell: quote a little of it, not a 20,000-character text.
                "rejected": [{"row": r.row, "reason": r.reason[:MAX_REASON_CHARS]}
                             for r in self.rejected[:MAX_REJECTIONS_LISTED]]}


# csv's default cell limit (131,072 characters) raised an uncaught _csv.Error; cells are
# checked per row instead (MAX_CELL_CHARS), with the row number in the report.
csv.field_size_limit(64 * 1024 * 1024)
MAX_CELL_CHARS = 20000  # as much as a manual entry's text


def check_zip(content: bytes) -> None:
    """Refuse an .xlsx (a zip) that unpacks to an absurd size or ratio, before any parsing."""
    settings = get_settings()
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InvalidInput(f"无法读取 Excel 文件：{exc}") from exc
    # zipfile stops reading a member at its declared size, so these sizes bound the work.
    unpacked = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if unpacked > settings.import_max_unpacked_bytes or unpacked / packed > settings.import_max_zip_ratio:
        raise TooLarge(f"Excel 文件解压后过大（{unpacked // 1024 // 1024} MB，压缩比 {unpacked // packed}:1），"
                       f"请拆分后导入（一次最多 {MAX_ROWS} 行）")


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    """The first worksheet's rows, parsed as they are read (openpyxl's read-only reader).

    openpyxl's load_workbook(read_only=True) parses a whole sheet up front when it has no
    <dimension> element (15 s for 1 M rows): the sheet is opened here without that scan.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class StreamedSheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            pass  # no dimensions: rows come as long as their last cell, which read_table handles

    try:
        reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)  # number formats tell dates from numbers
        sheets = [(sheet, rel) for sheet, rel in reader.parser.find_sheets()
                  if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InvalidInput(f"无法读取 Excel 文件：{exc}") from exc
    if not sheets:
        raise InvalidInput("Excel 文件中没有工作表")
    sheet, rel = sheets[0]
    worksheet = StreamedSheet(reader.wb, sheet.name, rel.target, reader.shared_strings)
    try:
        for row in worksheet.iter_rows(values_only=True):
            yield list(row)
    except Exception as exc:
        raise InvalidInput(f"无法读取 Excel 文件：{exc}") from exc
    finally:
        reader.archive.close()


def _too_many_rows() -> TooLarge:
    return TooLarge(f"一次最多导入 {MAX_ROWS} 行，请拆分文件")


def iter_table(filename: str, content: bytes) -> Iterator[list[Any]]:
    """Rows of a .csv (UTF-8 or GBK) or .xlsx file, header first, read as a stream."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        check_zip(content)
        yield from _xlsx_rows(content)
        return
    if name.endswith(".xls"):
        raise InvalidInput("不支持旧版 .xls，请另存为 .xlsx 或 CSV")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("CSV 文件编码无法识别（请使用 UTF-8 或 GBK）")
    text = text.replace("\x00", "")  # csv refuses NUL, PostgreSQL too
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(f"CSV 第 {reader.line_num} 行格式有误：{exc}") from exc
        yield row


def read_table(filename: str, content: bytes) -> list[list[Any]]:
    """Rows of a .csv or .xlsx file, header first; stops reading past MAX_ROWS data rows (TooLarge)."""
    rows: list[list[Any]] = []
    for row in iter_table(filename, content):
        rows.append(row)
        if len(rows) > MAX_ROWS + 1:
            raise _too_many_rows()
    return rows


def map_columns(header: list[Any]) -> dict[str, int]:
    names = [str(h or "").strip().lower() for h in header]
    found: dict[str, int] = {}
    for key, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.lower() in names:
                found[key] = names.index(alias.lower())
                break
    return found


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                 "%Y/%m/%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y.%m.%d",
                 "%Y-%m-%dT%H:%M:%S")


def parse_time(value: Any) -> datetime | None:
    """A cell as UTC; zone-less values are Beijing time. Raises ValueError when unreadable."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        local = value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
        return local.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=SHANGHAI).astimezone(UTC)
    text = re.sub(r"\s+", " ", str(value).strip())
    if text.isdigit() and len(text) in (10, 13):
        return datetime.fromtimestamp(int(text[:10]), UTC)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI).astimezone(UTC)
        except ValueError:
            continue
    raise ValueError(text)


def _cell(row: list[Any], index: int | None) -> str:
    if index is None or index >= len(row) or row[index] is None:
        return ""
    value = row[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 9356769 as 9356769.0
    return re.sub(r"[ \t\u3000]+", " ", str(value)).strip()


def import_table(*, session: Session, filename: str, content: bytes, channel: str = "hotline",
                 source_id: int | None = None) -> ImportReport:
    """Import every row; a bad row is rejected with its reason and does not stop the others."""
    if channel not in ("hotline", "board", "manual"):
        raise InvalidInput("导入渠道只能是 hotline（12345热线）、board（留言板）或 manual")
    rows = read_table(filename, content)
    if not rows:
        raise InvalidInput("文件为空")
    header, body = rows[0], rows[1:]
    cols = map_columns(header)
    if "title" not in cols and "text" not in cols:
        raise InvalidInput("找不到标题或内容列（如：标题、留言主题、内容、留言详情、投诉件内容）")
    report = ImportReport(columns={k: str(header[i]) for k, i in cols.items()})
    for number, row in enumerate(body, start=2):
        if not any(_cell(row, i) for i in range(len(row))):
            continue  # blank lines at the end of exports
        report.rows += 1
        if any(isinstance(c, str) and len(c) > MAX_CELL_CHARS for c in row):
            report.rejected.append(Rejection(number, f"单元格超过 {MAX_CELL_CHARS} 字"))
            continue
        title, text = _cell(row, cols.get("title")), _cell(row, cols.get("text"))
        if not (title or text):
            report.rejected.append(Rejection(number, "标题和内容都为空"))
            continue
        try:
            published = parse_time(row[cols["published_at"]] if "published_at" in cols and
                                   cols["published_at"] < len(row) else None)
        except ValueError as exc:
            report.rejected.append(Rejection(number, f"时间无法识别：{exc}"))
            continue
        address = _cell(row, cols.get("address"))
        if address:
            text = f"{text}\n地址：{address}".strip()
        external_id = _cell(row, cols.get("external_id")) or "row-" + hashlib.sha1(
            f"{title}\n{text}\n{published}".encode()).hexdigest()
        extra = {str(header[i] or f"列{i + 1}"): _cell(row, i) for i in range(len(row))
                 if i not in (cols.get("contact"),) and i < len(header)}
        try:
            mention_in = MentionCreate(
                channel=channel, source_id=source_id, external_id=f"{channel}:{external_id}"[:300],
                title=title[:500], text=text, author=_cell(row, cols.get("author"))[:200], published_at=published,
                contact=_cell(row, cols.get("contact"))[:200],
                raw=json.dumps({"file": filename, "row": number, "cells": extra}, ensure_ascii=False, default=str))
        except ValidationError as exc:
            report.rejected.append(Rejection(number, "字段不合法：" + "; ".join(e["msg"] for e in exc.errors())))
            continue
        try:
            with session.begin_nested():
                result = mentions.ingest(session=session, mention_in=mention_in)
        except InvalidInput as exc:
            report.rejected.append(Rejection(number, str(exc)))
            continue
        if result.created:
            report.accepted += 1
            session.flush()
            if result.mention.id is not None:
                report.new_ids.append(result.mention.id)
        else:
            report.duplicates += 1
    return report
