"""An upload cannot freeze the server: a tiny .xlsx holding 1 M rows is refused while a real
uvicorn server keeps answering /api/health from another thread."""

from __future__ import annotations

import io
import socket
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn

from api.main import create_app
from core.config import Settings, get_settings
from core.intake import service as intake
from core.users.models import User

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
    'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def repeated_rows_xlsx(rows: int) -> bytes:
    """A valid .xlsx whose one sheet repeats the same row `rows` times (it packs ~1000:1)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><sheetData>'
                        b'<row><c t="inlineStr"><is><t>title</t></is></c>'
                        b'<c t="inlineStr"><is><t>text</t></is></c></row>')
            row = '<row><c t="inlineStr"><is><t>乱停车</t></is></c></row>'.encode()
            block = row * 10_000
            for _ in range(rows // 10_000):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


@dataclass
class Probe:
    latencies: list[float] = field(default_factory=list)


@pytest.fixture
def server(app_env: Settings) -> Iterator[str]:
    """The app under a real uvicorn on a free loopback port, in a thread of this process."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=30)
    sock.close()


def upload_while_probing(base: str, headers: dict[str, str], content: bytes) -> tuple[httpx.Response, float, Probe]:
    """POST the file from one thread while this one asks /api/health until the upload is answered."""
    result: dict[str, httpx.Response] = {}
    done = threading.Event()

    def upload() -> None:
        try:
            result["res"] = httpx.post(f"{base}/api/intake/import", headers=headers, timeout=300,
                                       files={"file": ("bomb.xlsx", content)}, data={"channel": "hotline"})
        finally:
            done.set()

    probe = Probe()
    started = time.monotonic()
    threading.Thread(target=upload, daemon=True).start()
    with httpx.Client(base_url=base, timeout=60) as health:
        while True:  # at least one probe, and probes for as long as the upload runs
            t0 = time.monotonic()
            assert health.get("/api/health").status_code == 200
            probe.latencies.append(time.monotonic() - t0)
            if done.is_set():
                break
    elapsed = time.monotonic() - started
    return result["res"], elapsed, probe


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_one_million_row_xlsx_is_refused_while_health_answers(
        server: str, make_user: Callable[..., User], auth: Callable[[User], dict[str, str]]) -> None:
    content = repeated_rows_xlsx(1_000_000)
    assert len(content) < 250_000  # a tiny file (the was 0.1 MB)
    headers = auth(make_user("uploader", "duty"))

    # The zip check refuses it before parsing.
    res, elapsed, probe = upload_while_probing(server, headers, content)
    assert res.status_code == 413, res.text
    assert "拆分" in res.json()["detail"]
    assert elapsed < 30  # generous: a blocked loop took 34 s of CPU here
    assert max(probe.latencies) < 5

    # Even when the zip looks plausible, rows stream and reading stops at the row cap, in a
    # worker thread: health keeps answering meanwhile.
    settings = get_settings()
    settings.import_max_zip_ratio = 10_000
    settings.import_max_unpacked_bytes = 10**10
    res, elapsed, probe = upload_while_probing(server, headers, content)
    assert res.status_code == 413, res.text
    assert str(intake.MAX_ROWS) in res.json()["detail"]
    assert elapsed < 60
    assert max(probe.latencies) < 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_upload_over_the_size_cap_is_a_413(
        server: str, make_user: Callable[..., User], auth: Callable[[User], dict[str, str]]) -> None:
    get_settings().max_upload_bytes = 100_000
    headers = auth(make_user("uploader", "duty"))
    res = httpx.post(f"{server}/api/intake/import", headers=headers, timeout=60,
                     files={"file": ("big.csv", b"title,text\n" + b"a,b\n" * 50_000)})
    assert res.status_code == 413, res.text


def test_a_csv_cell_over_the_csv_module_limit_is_a_row_error(session: object) -> None:
    content = ("标题,内容\n正常,市民反映路灯不亮\n太长," + "长" * 200_000 + "\n").encode()
    rows = intake.read_table("big.csv", content)
    assert len(rows) == 3
    text = ('编号,标题,内容\n1,正常,路灯不亮\n2,太长,"' + "长" * 200_000 + '"\n').encode()
    from sqlmodel import Session

    assert isinstance(session, Session)
    report = intake.import_table(session=session, filename="x.csv", content=text)
    assert report.accepted == 1 and [r.row for r in report.rejected] == [3]
