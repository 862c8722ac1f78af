"""Hotline entry, CSV/Excel import with a per-row report, and secrets kept out of the API."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.main import create_app
from api.security import create_access_token
from core.config import Settings
from core.intake import service
from core.mentions.models import Mention
from core.users.models import User
from tests.conftest import realdata


def _client(session: Session, role: str = "admin") -> tuple[TestClient, dict[str, str]]:
    user = User(username=f"u-{role}", role=role, password_hash="x")
    session.add(user)
    session.commit()
    assert user.id is not None
    # The app as served: a route missing from create_app() must fail here, not be re-mounted.
    return TestClient(create_app()), {"Authorization": f"Bearer {create_access_token(user.id, role=role)}"}


def test_importing_the_peoples_board_export_reports_rows_and_is_idempotent(session: Session) -> None:
    content = realdata("datasets/fuzhou_12345_liuyan_weibo_timeofmei/people_liuyan_fuzhou_env_120.xlsx").read_bytes()
    first = service.import_table(session=session, filename="liuyan.xlsx", content=content, channel="board")
    session.commit()
    assert (first.rows, first.accepted, first.duplicates, first.rejected) == (120, 120, 0, [])
    m = session.exec(select(Mention).where(Mention.external_id == "board:9356769")).one()
    assert m.title == "福清党校旁，融创保利工地深夜施工噪音扰民！" and m.channel == "board"
    again = service.import_table(session=session, filename="liuyan.xlsx", content=content, channel="board")
    assert (again.accepted, again.duplicates) == (0, 120)


def test_api_records_a_call_privately_and_imports_a_csv_with_reasons(app_env: Settings, session: Session) -> None:
    client, headers = _client(session)
    with client:
        res = client.post("/api/intake/calls", headers=headers, json={
            "title": "西一路乱停车", "text": "小区门口车辆乱停，消防通道被堵", "caller": "王女士",
            "contact": "13800000000", "received_at": "2024-01-18T21:05:00", "call_id": "12345-0001"})
        assert res.status_code == 201, res.text
        assert "13800000000" not in res.text and res.json()["channel"] == "hotline"
        assert client.post("/api/intake/calls", headers=headers, json={
            "title": "西一路乱停车", "call_id": "12345-0001"}).status_code == 200
        with realdata("datasets/taidi2020_C_zhihui_zhengwu/fujian2_sample495_labeled.clean.csv").open(
                encoding="utf-8") as f:
            rows = list(csv.reader(f))[:6]
        rows[2][4] = rows[2][3] = ""  # no title, no text
        rows[3][2] = "去年冬天"  # a time nobody can read
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        res = client.post("/api/intake/import", headers=headers, data={"channel": "board"},
                          files={"file": ("export.csv", buf.getvalue().encode("gb18030"), "text/csv")})
        assert res.status_code == 200, res.text
        report = res.json()
        assert (report["rows"], report["accepted"], report["rejected_count"]) == (5, 3, 2)
        assert report["rejected"] == [{"row": 3, "reason": "标题和内容都为空"},
                                      {"row": 4, "reason": "时间无法识别：去年冬天"}]
        stored = session.exec(select(Mention).where(Mention.external_id == "12345-0001")).one()
        assert stored.contact == "13800000000"


def test_credentials_are_write_only(app_env: Settings, session: Session) -> None:
    client, headers = _client(session)
    with client:
        created = client.post("/api/sources", headers=headers, json={
            "name": "微博-站前", "kind": "weibo", "url": "https://m.weibo.cn", "params": {"uid": "1"}}).json()
        assert created["channel"] == "weibo" and created["has_credentials"] is False
        res = client.put(f"/api/sources/{created['id']}/credentials", headers=headers,
                         json={"cookie": "SUB=very-secret"})
        assert res.status_code == 200 and res.json()["has_credentials"] is True
        for body in (res.text, client.get("/api/sources", headers=headers).text,
                     client.get(f"/api/sources/{created['id']}", headers=headers).text):
            assert "very-secret" not in body and '"credentials"' not in body
        opml = realdata("wechat/opml/wechat2rss_sec.opml").read_bytes()
        imported = client.post("/api/sources/import-opml", headers=headers, files={"file": ("sec.opml", opml)}).json()
        assert len(imported["created"]) > 300 and imported["rejected"] == []
