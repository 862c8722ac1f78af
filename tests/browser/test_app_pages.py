"""Every page of the app's own views, per role, at desktop and phone width: it renders, axe-core finds no serious
or critical violation, nothing scrolls sideways, no console error or failed request. On a phone the queue comes first.
Screenshots go to var/screenshots (or $YUQING_SCREENSHOTS, e.g. docs/screenshots)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, People, Seeder, Session, token_for

PAGES = [  # (role, path, the element that says the page rendered its data, screenshot name)
    ("duty", "/workspace", "my-queue", "workspace"),
    ("duty", "/alerts", "alert-list", "alerts"),
    ("handler", "/tickets", "ticket-queue", "tickets"),
    ("handler", "/tickets/{ticket}", "deadlines", "ticket"),
    ("leader", "/review", "page-review", "review"),
    ("duty", "/duty", "on-duty-now", "duty"),  # the roster: who is on duty now (seeded below)
    ("duty", "/intake", "call-form", "intake"),
    ("leader", "/no-such-page", "page-404", "not-found"),
]


@pytest.fixture(scope="module")
def ticket(seed: Seeder, server: str, people: People) -> int:
    """An open grade III ticket of 城管科, assigned to its handler, with an alert-raising event behind it."""
    event_id = seed.event("火车站广场共享单车乱停放阻碍通行", grade="III", topic="parking", alert=False)
    seed.event("站前街道供暖不热居民投诉", grade="II", topic="heating")  # an open alert for the inbox
    token = token_for(server, people.users["duty"], people.password)
    res = httpx.post(f"{server}/api/tickets", headers={"Authorization": f"Bearer {token}"}, timeout=30, json={
        "event_id": event_id, "unit_id": people.units["城管科"], "handler_id": people.ids["handler"],
        "assisting_unit_ids": [people.units["站前社区"]], "note": "请当日清理"})
    res.raise_for_status()
    admin = {"Authorization": f"Bearer {token_for(server, people.users['admin'], people.password)}"}
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    for who, role in (("duty", "officer"), ("leader", "leader")):  # on duty now, shown on the roster
        httpx.post(f"{server}/api/duty/shifts", headers=admin, timeout=30, json={
            "user_id": people.ids[who], "role": role, "note": "", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=24)).isoformat()}).raise_for_status()
    return int(res.json()["id"])


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_every_page_renders_accessibly_without_errors(
        mobile: bool, ticket: int, open_as: Callable[..., Session], axe_check: Callable[[Page], None],
        no_sideways_scroll: Callable[[Page], None], screenshot: Callable[[Page, str], Path]) -> None:
    for role, path, ready, name in PAGES:
        s = open_as(role, path.format(ticket=ticket), mobile=mobile)
        expect(s.page.get_by_test_id(ready)).to_be_visible()
        if name == "duty":
            expect(s.page.get_by_test_id(ready)).to_contain_text("值班员张")
        s.page.wait_for_load_state("networkidle")
        axe_check(s.page)
        no_sideways_scroll(s.page)
        screenshot(s.page, f"{name}-{'phone' if mobile else 'desktop'}")
        s.context.close()


def test_on_a_phone_the_queue_is_on_the_first_screen(
        ticket: int, open_as: Callable[..., Session], no_sideways_scroll: Callable[[Page], None]) -> None:
    s = open_as("handler", "/workspace", mobile=True)
    page = s.page
    queue = page.get_by_test_id("my-queue")
    row = queue.get_by_test_id(f"ticket-row-{ticket}")
    expect(row).to_be_visible()
    box = row.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    expect(page.get_by_test_id("side-menu")).to_be_hidden()  # the sidebar is an overlay, closed
    no_sideways_scroll(page)
    # the menu opens over the page and a tap on a menu item closes it again
    page.get_by_role("button", name="展开菜单").click()
    page.get_by_test_id("side-menu").get_by_text("工单", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tickets"))
    expect(page.get_by_test_id("side-menu")).to_be_hidden()
    no_sideways_scroll(page)


def test_a_link_to_an_alert_opens_that_alert(seed: Seeder, open_as: Callable[..., Session]) -> None:
    for i in range(25):  # more than one screen of alerts: the linked one is deep down the list
        seed.event(f"站前街道测试预警{i:02d}号 垃圾清运不及时", grade="IV", topic="property", posts=1)
    target = seed.event("站前街道老旧小区外墙脱落隐患", grade="II", topic="safety")
    s = open_as("duty", "/alerts")
    alert_id = s.page.locator("[data-alert-id]").filter(has_text="外墙脱落").first.get_attribute("data-alert-id")
    s.context.close()
    s = open_as("duty", f"/alerts?id={alert_id}")
    detail = s.page.get_by_test_id("alert-detail")
    expect(detail).to_contain_text("外墙脱落")
    expect(detail.get_by_role("link", name="事件详情")).to_have_attribute("href", f"/events/{target}")


def test_a_call_is_registered_and_an_export_imported_with_a_row_report(
        open_as: Callable[..., Session], tmp_path: Path) -> None:
    s = open_as("duty", "/intake")
    page = s.page
    form = page.get_by_test_id("call-form")
    form.get_by_role("button", name="登记").click()
    expect(form.get_by_text("请填写来电内容")).to_be_visible()
    form.get_by_label("来电人").fill("王女士")
    form.get_by_label("联系电话").fill("13800000000")
    form.get_by_label("来电内容").fill("站前小区3号楼楼道内电动车充电，存在火灾隐患，请尽快处理。")
    with page.expect_response(lambda r: "/api/intake/calls" in r.url) as answer:
        form.get_by_role("button", name="登记").click()
    assert answer.value.status == 201, answer.value.text()
    expect(page.get_by_test_id("call-saved")).to_contain_text(re.compile(r"信息#\d+"))

    export = tmp_path / "12345.csv"
    export.write_text("工单编号,来电时间,来电内容,地址\n"
                      "A-1,2026-11-20 09:00,南站街路灯不亮已一周,南站街\n"
                      "A-2,2026-11-20 10:00,,站前小区\n", encoding="utf-8")
    page.get_by_role("tab", name="导入").click()
    page.get_by_test_id("import-file").set_input_files(str(export))
    page.get_by_role("button", name="导入", exact=True).click()
    report = page.get_by_test_id("import-report")
    expect(report).to_contain_text("新增 1")
    expect(report).to_contain_text("拒绝 1")
    expect(report.get_by_role("row").nth(1)).to_contain_text("3")  # the report names the rejected row
