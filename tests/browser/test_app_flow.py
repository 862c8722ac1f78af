"""The office's main loop through the page, role by role, on the real stack:
an alert → 签收 → 开单 (lead unit, handler, assisting unit) → the handler drafts → 提交审核 → the leader reads the
draft → 签发 → 记录回应 → 办结; and the annual report's figure rises by one."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import People, Seeder, Session, token_for


def annual_responded(server: str, people: People) -> int:
    token = token_for(server, people.users["admin"], people.password)
    year = (datetime.now(UTC) + timedelta(hours=8)).year
    res = httpx.get(f"{server}/api/reports/annual", params={"year": year},
                    headers={"Authorization": f"Bearer {token}"}, timeout=30)
    res.raise_for_status()
    return int(res.json()["responded_events"])


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of an Element Plus select by the select's label."""
    page.locator(".el-select__wrapper", has=page.get_by_role("combobox", name=label)).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_an_alert_goes_all_the_way_to_a_closed_ticket_and_counts_in_the_annual_report(
        open_as: Callable[..., Session], seed: Seeder, server: str, people: People,
        axe_check: Callable[[Page], None], screenshot: Callable[[Page, str], object]) -> None:
    title = "站前小区消防通道长期被私家车占用"
    seed.event(title, grade="II", topic="parking", posts=3)
    before = annual_responded(server, people)

    # 值班员: the alert, its posts, 签收, 开单 with the lead unit, its handler and an assisting unit
    duty = open_as("duty", "/alerts")
    page = duty.page
    page.get_by_test_id("alert-list").get_by_role("button", name=re.compile(title)).click()
    detail = page.get_by_test_id("alert-detail")
    expect(detail.get_by_test_id("post").first).to_contain_text("希望有关部门尽快处理")
    expect(detail.get_by_role("link", name="查看原帖").first).to_have_attribute("href", re.compile(r"^https://"))
    axe_check(page)
    screenshot(page, "alerts-desktop")
    detail.get_by_role("button", name="签收").click()
    expect(detail).to_contain_text("已签收")
    detail.get_by_role("button", name="开单").click()
    form = page.get_by_test_id("open-ticket-form")
    choose(page, "牵头单位", "城管科")
    expect(form.get_by_role("combobox", name="承办人")).to_be_enabled()
    choose(page, "承办人", "承办人赵")
    choose(page, "协办单位", "站前社区")
    page.keyboard.press("Escape")  # close the multi-select's list
    page.get_by_test_id("open-ticket-submit").click()
    expect(page.get_by_text(re.compile(r"已开单 #\d+"))).to_be_visible()
    link = detail.get_by_role("link", name=re.compile(r"工单#\d+"))
    expect(link).to_be_visible()
    ticket_id = int(re.search(r"#(\d+)", link.inner_text()).group(1))  # type: ignore[union-attr]
    expect(detail).to_contain_text("已关闭")  # the alert closed itself with the ticket

    # 承办人: the ticket waits on him on his 工作台; he drafts the reply and sends it to review
    handler = open_as("handler", "/workspace")
    page = handler.page
    queue = page.get_by_test_id("my-queue")
    queue.get_by_role("link", name=re.compile(title)).click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket_id}$"))
    expect(page.get_by_test_id("deadlines")).to_contain_text("公开回应")
    expect(page.get_by_test_id("deadlines")).to_contain_text(re.compile(r"剩余\d+"))
    axe_check(page)
    page.get_by_role("textbox", name="回应稿").fill(
        "关于站前小区消防通道被占用问题，街道城管科已会同站前社区现场清理，并设置禁停标识。感谢市民监督。")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_test_id("ticket-state")).to_have_text("处置中")
    page.get_by_role("button", name="提交审核").click()
    expect(page.get_by_test_id("ticket-state")).to_have_text("待审核")
    expect(page.get_by_role("button", name="记录回应")).to_have_count(0)  # grade II: not before sign-off
    screenshot(page, "ticket-desktop")

    # 领导: 待我签发 shows the draft and the posts it answers; 签发 needs the 保密审查 tick
    leader = open_as("leader", "/review")
    page = leader.page
    item = page.get_by_test_id(f"review-{ticket_id}")
    expect(item.get_by_test_id("review-draft")).to_contain_text("设置禁停标识")
    expect(item.get_by_test_id("post").first).to_contain_text(title)
    axe_check(page)
    screenshot(page, "review-desktop")
    item.get_by_role("button", name="签发").click()
    page.get_by_test_id("signoff-submit").click()
    expect(page.get_by_text("签发前须完成保密审查")).to_be_visible()
    page.get_by_test_id("confidentiality").click()
    page.get_by_test_id("signoff-submit").click()
    expect(item.get_by_test_id("review-signed")).to_be_visible()
    expect(item.get_by_role("button", name="签发")).to_have_count(0)

    # 承办人: 记录回应 (channel, kind, link, text), then 办结
    handler.page.reload()
    page = handler.page
    page.get_by_role("button", name="记录回应").click()
    form = page.get_by_test_id("response-form")
    choose(page, "回应渠道", "微博")
    form.get_by_label("标题").fill("关于站前小区消防通道问题的回应")
    form.get_by_label("链接").fill("https://weibo.example/zhanqian/1")
    page.get_by_test_id("response-submit").click()
    expect(page.get_by_test_id("ticket-state")).to_have_text("已回应")
    page.get_by_role("button", name="办结").click()
    page.get_by_role("dialog").get_by_role("button", name="办结").click()
    expect(page.get_by_test_id("ticket-state")).to_have_text("已办结")

    assert annual_responded(server, people) == before + 1


def test_a_ticket_waiting_in_triage_is_handed_to_a_unit_from_its_page(
        open_as: Callable[..., Session], seed: Seeder, server: str, people: People,
        axe_check: Callable[[Page], None]) -> None:
    event_id = seed.event("站前广场夜市油烟扰民", grade="III", topic="noise", alert=False)
    token = token_for(server, people.users["duty"], people.password)
    res = httpx.post(f"{server}/api/tickets", json={"event_id": event_id, "note": ""}, timeout=30,
                     headers={"Authorization": f"Bearer {token}"})
    res.raise_for_status()
    ticket_id = res.json()["id"]
    s = open_as("duty", "/tickets")  # 待交办 is the duty officer's own queue
    s.page.get_by_test_id("ticket-queue").get_by_role("link", name=f"#{ticket_id}").click()
    page = s.page
    expect(page.get_by_test_id("ticket-state")).to_have_text("待研判")
    page.get_by_test_id("ticket-actions").get_by_role("button", name="交办").click()
    choose(page, "牵头单位", "城管科")
    expect(page.get_by_role("combobox", name="承办人")).to_be_enabled()
    choose(page, "牵头单位", "综合执法队")  # a unit without handler accounts takes it as a unit
    expect(page.get_by_role("combobox", name="承办人")).to_be_disabled()
    page.get_by_test_id("open-ticket-submit").click()
    expect(page.get_by_test_id("ticket-state")).to_have_text("已交办")
    expect(page.get_by_text("牵头：综合执法队")).to_be_visible()
    page.get_by_test_id("ticket-actions").get_by_role("button", name="改派").click()
    choose(page, "牵头单位", "城管科")
    page.get_by_test_id("open-ticket-submit").click()
    expect(page.get_by_text("牵头：城管科（承办人赵）")).to_be_visible()
    axe_check(page)
