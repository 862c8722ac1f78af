"""The 报表 page's 日报/周报/月报 in Chromium: generate one, read its figures (equal to the API's JSON),
write the 研判意见, download Word and PDF, and 立即报送 to the configured channels."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from docx import Document
from playwright.sync_api import Page, expect

from tests.browser.conftest import REPO, People, Seeder, Session, token_for

BEIJING = ZoneInfo("Asia/Shanghai")
SHOT = REPO / "docs" / "screenshots" / "reports-briefing-1440.png"


def test_the_duty_officer_generates_edits_downloads_and_sends_a_weekly_briefing(
        open_as: Callable[..., Session], seed: Seeder, db_engine: sa.Engine, people: People, server: str,
        tmp_path: Path, axe_check: Callable[[Page], None]) -> None:
    from sqlmodel import Session as Db
    from sqlmodel import select

    from core.notify.models import Notification, NotificationChannel

    seed.event("站前小区暖气不热多日无人管", topic="heating", grade="III", posts=3)
    with Db(db_engine) as db:
        channel = NotificationChannel(name="报告邮箱（浏览器测试）", kind="email", url="smtp://127.0.0.1:9",
                                      audiences=["duty"], config={"to": ["duty@example.com"]})
        db.add(channel)
        db.commit()
        channel_id = channel.id
    try:
        s = open_as("duty", "/reports")
        page = s.page
        expect(page.get_by_test_id("page-reports")).to_be_visible()
        page.get_by_role("radio", name="周报").check(force=True)
        page.get_by_test_id("briefing-generate").click()
        preview = page.get_by_test_id("briefing-preview")
        expect(preview).to_contain_text("站前小区暖气不热多日无人管（III级·较大，未开单，相关信息 3 条）")
        # The page shows the API's figures for the same period.
        today = datetime.now(BEIJING).date()
        token = token_for(server, people.users["duty"], people.password)
        body = httpx.get(f"{server}/api/reports/briefing", params={"period": "weekly", "date": str(today)},
                         headers={"Authorization": f"Bearer {token}"}).json()
        rows = page.get_by_test_id("briefing-figures").locator("tbody tr")
        expect(rows).to_have_count(len(body["figures"]))
        shown = [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()[:3]] for i in range(rows.count())]
        assert shown == [[f["label"], str(f["value"]), str(f["previous"])] for f in body["figures"]]

        page.get_by_test_id("briefing-opinion").fill("供暖投诉集中，建议热力公司今日答复。")
        page.wait_for_load_state("networkidle")
        axe_check(page)
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        # The briefing card just under the sticky top bar (a full-page shot repeats the bar mid-page).
        page.set_viewport_size({"width": 1440, "height": 1000})
        page.evaluate("() => { const s = document.querySelector('section[aria-labelledby=r-briefing]');"
                      " window.scrollTo(0, s.getBoundingClientRect().top + window.scrollY - 72) }")
        page.screenshot(path=str(SHOT))

        with page.expect_download() as word:
            page.get_by_test_id("briefing-download").click()
        assert word.value.suggested_filename.startswith("yuqing-briefing-weekly-")
        path = tmp_path / "weekly.docx"
        word.value.save_as(path)
        doc = Document(io.BytesIO(path.read_bytes()))
        assert "供暖投诉集中，建议热力公司今日答复。" in "\n".join(p.text for p in doc.paragraphs)

        pdf_button = page.get_by_test_id("briefing-pdf")
        formats = httpx.get(f"{server}/api/reports/formats", headers={"Authorization": f"Bearer {token}"}).json()
        if formats["pdf"]:
            with page.expect_download(timeout=120_000) as pdf:
                pdf_button.click()
            pdf_path = tmp_path / "weekly.pdf"
            pdf.value.save_as(pdf_path)
            assert pdf_path.read_bytes().startswith(b"%PDF-")
        else:
            expect(pdf_button).to_be_disabled()

        page.get_by_test_id("briefing-send").click()
        page.get_by_role("button", name="报送", exact=True).click()
        expect(page.locator(".el-message--success").last).to_contain_text("已加入发送队列：1 个渠道")
        with Db(db_engine) as db:
            queued = db.exec(select(Notification).where(Notification.channel_id == channel_id)).all()
        assert [n.subject for n in queued if n.document_id] and "供暖投诉集中" in queued[-1].body
    finally:
        with Db(db_engine) as db:
            stored = db.get(NotificationChannel, channel_id)
            assert stored is not None
            stored.enabled = False
            db.add(stored)
            db.commit()


def test_the_link_in_a_sent_briefing_opens_that_briefing(open_as: Callable[..., Session]) -> None:
    s = open_as("leader", "/reports?briefing=monthly&date=2026-02-10")
    preview = s.page.get_by_test_id("briefing-preview")
    expect(preview).to_contain_text("舆情月报（2026-02-01 至 2026-02-28）")
    expect(s.page.get_by_role("radio", name="月报")).to_be_checked()
