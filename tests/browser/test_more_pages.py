"""Monitoring, dashboard, reports and admin pages in Chromium: a search finds a mention by keyword, the clerk
downloads the ledger, the admin adds a source and a user who can then log in; every page passes axe at desktop
and phone width with no console error, no failed request and nothing scrolling sideways."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import People, Seeder, Session

BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_search_finds_a_mention_by_keyword_and_opens_its_event(
        open_as: Callable[..., Session], seed: Seeder, axe_check: Callable[[Page], None]) -> None:
    event_id = seed.event("站前街道北站路口积雪三天无人清理", topic="snow", grade="III", alert=False)
    seed.event("和平社区楼道电动车充电", topic="safety", grade="IV", alert=False)
    s = open_as("duty", "/mentions")
    page = s.page
    expect(page.get_by_test_id("page-mentions")).to_be_visible()
    page.get_by_label("关键词").fill("积雪 北站路口")
    page.get_by_role("button", name="查询").click()
    items = page.get_by_test_id("mention-item")
    expect(items.first).to_be_visible()
    # Every row holds both words (AND search), the words are marked as text, the other story is gone.
    expect(page.get_by_test_id("mention-results")).not_to_contain_text("电动车充电")
    expect(items.first.locator("mark").first).to_have_text(re.compile("积雪|北站路口"))
    assert page.evaluate("() => new URLSearchParams(location.search).get('q')") == "积雪 北站路口"
    axe_check(page)
    items.first.get_by_role("link", name=re.compile("查看事件")).click()
    expect(page).to_have_url(re.compile(rf"/events/{event_id}$"))
    expect(page.get_by_test_id("page-event")).to_contain_text("站前街道北站路口积雪三天无人清理")
    expect(page.get_by_test_id("event-post").first).to_be_visible()
    axe_check(page)


def test_the_search_form_combines_short_chinese_keywords_with_every_filter(
        open_as: Callable[..., Session], seed: Seeder, axe_check: Callable[[Page], None],
        screenshot: Callable[[Page, str], object]) -> None:
    # One- and two-character keywords are the commonest in Chinese: the index must serve them too.
    seed.event("幸福里三号楼电梯停运一周", topic="property", grade="IV", alert=False, posts=3)
    seed.event("幸福里小区夜间施工噪音", topic="noise", grade="IV", alert=False, posts=2)
    today = datetime.now(BEIJING).date().isoformat()
    s = open_as("duty", f"/mentions?q=梯&topic=property&channel=weibo&sentiment=negative&since={today}&until={today}")
    page = s.page
    items = page.get_by_test_id("mention-item")
    expect(items).to_have_count(2)  # posts 1 and 3 of the elevator story are on 微博
    expect(page.get_by_test_id("mention-results")).not_to_contain_text("施工噪音")
    expect(items.first.locator("mark").first).to_have_text("梯")
    for name in ("渠道", "话题", "情感", "时间范围"):
        expect(page.get_by_label(name).first).to_be_visible()
    page.get_by_label("关键词").fill("幸福 噪音")
    page.get_by_role("button", name="重置").click()
    page.get_by_label("关键词").fill("幸福 噪音")
    page.get_by_role("button", name="查询").click()
    expect(items).to_have_count(2)
    expect(page.get_by_test_id("mention-results")).not_to_contain_text("电梯")
    axe_check(page)
    page.goto(page.url.split("?")[0] + f"?q=幸福&sentiment=negative&since={today}&until={today}")
    expect(items).to_have_count(5)
    screenshot(page, "mentions-search-filters-desktop")


def test_load_more_continues_the_search_without_repeats(open_as: Callable[..., Session], seed: Seeder) -> None:
    seed.event("光明小区垃圾站异味扰民", topic="property", grade="IV", alert=False, posts=35)
    s = open_as("duty", "/mentions?q=垃圾站异味")
    page = s.page
    items = page.get_by_test_id("mention-item")
    expect(items).to_have_count(30)
    page.get_by_role("button", name="加载更多").click()
    expect(items).to_have_count(35)
    expect(page.get_by_role("button", name="加载更多")).to_have_count(0)
    texts = [t.split("赞")[0] for t in items.all_inner_texts()]
    assert len(set(texts)) == 35  # each post once (their texts differ by the 网友N author)


def test_a_search_escapes_the_keyword_and_never_renders_markup(
        open_as: Callable[..., Session], seed: Seeder) -> None:
    seed.event("<img src=x onerror=alert(1)> 停车位(收费)问题", topic="parking", grade="IV", alert=False)
    s = open_as("duty", "/mentions?q=" + "(收费)")
    page = s.page
    item = page.get_by_test_id("mention-item").first
    expect(item.locator("mark").first).to_have_text("(收费)")
    expect(item).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("[data-testid=mention-results] img").count() == 0


def test_a_duty_officer_marks_a_mention_irrelevant(open_as: Callable[..., Session], seed: Seeder) -> None:
    seed.event("外省某市供暖费上涨讨论", topic="heating", grade=None, alert=False, posts=1)
    s = open_as("duty", "/mentions?q=外省某市供暖费")
    page = s.page
    item = page.get_by_test_id("mention-item").first
    item.get_by_role("button", name="标为无关").click()
    page.get_by_role("dialog").get_by_role("button", name="标为无关").click()
    expect(item).to_contain_text("其他（人工）")


def test_a_duty_officer_corrects_a_topic_on_a_phone_with_results_on_the_first_screen(
        open_as: Callable[..., Session], seed: Seeder, no_sideways_scroll: Callable[[Page], None]) -> None:
    seed.event("站前街道路灯坏了一个月", topic="other", grade=None, alert=False, posts=1)
    s = open_as("duty", "/mentions?q=路灯坏了一个月", mobile=True)
    page = s.page
    item = page.get_by_test_id("mention-item").first
    expect(item).to_be_visible()
    box = item.bounding_box()
    assert box is not None and box["y"] < 844, "the first result is below the first phone screen"
    no_sideways_scroll(page)
    item.get_by_role("button", name="改正话题").click()
    item.locator(".el-select__wrapper").click()
    page.get_by_role("option", name="市政设施").click()
    item.get_by_role("button", name="保存").click()
    expect(item).to_contain_text("市政设施（人工）")


def test_the_clerk_downloads_the_ledger_as_a_real_file(
        open_as: Callable[..., Session], tmp_path: Path, axe_check: Callable[[Page], None]) -> None:
    year = datetime.now(BEIJING).year
    s = open_as("duty", "/reports")
    page = s.page
    expect(page.get_by_test_id("page-reports")).to_be_visible()
    expect(page.get_by_test_id("annual-text")).to_contain_text("年，")
    axe_check(page)
    with page.expect_download() as xlsx_download:
        page.get_by_role("button", name="导出台账（Excel）").click()
    xlsx = xlsx_download.value
    assert xlsx.suggested_filename == f"yuqing-ledger-{year}.xlsx"
    path = tmp_path / xlsx.suggested_filename
    xlsx.save_as(path)
    assert zipfile.is_zipfile(path)
    sheet = openpyxl.load_workbook(BytesIO(path.read_bytes())).active
    assert sheet is not None and sheet.max_row >= 1 and any(c.value for c in sheet[1])
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="导出台账（CSV）").click()
    assert csv_download.value.suggested_filename == f"yuqing-ledger-{year}.csv"
    csv_path = tmp_path / "ledger.csv"
    csv_download.value.save_as(csv_path)
    assert "," in csv_path.read_text(encoding="utf-8-sig").splitlines()[0]
    with page.expect_download() as report_download:
        page.get_by_role("button", name="下载年报").click()
    assert report_download.value.suggested_filename.startswith(f"yuqing-annual-{year - 1}")


@pytest.mark.parametrize("mobile", [False, True], ids=["1440", "390"])
def test_the_admin_adds_a_source_and_a_user_who_can_then_log_in(
        open_as: Callable[..., Session], new_page: Callable[..., Session], people: People,
        axe_check: Callable[[Page], None], no_sideways_scroll: Callable[[Page], None], mobile: bool) -> None:
    suffix = "m" if mobile else "d"
    s = open_as("admin", "/admin/sources", mobile=mobile)
    page = s.page
    page.get_by_role("button", name="新建监测源").click()
    dialog = page.get_by_role("dialog", name="新建监测源")
    expect(dialog.get_by_label("名称")).to_be_visible()
    axe_check(page)
    no_sideways_scroll(page)
    dialog.get_by_label("名称").fill(f"站前街道吧{suffix}")
    dialog.get_by_label("地址").fill("https://tieba.example/f?kw=站前街道")
    dialog.get_by_label("关键词").fill("站前，积雪")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("sources-table")).to_contain_text(f"站前街道吧{suffix}")
    expect(page.get_by_test_id("sources-table")).to_contain_text("未采集")

    page.goto("/admin/users")
    page.get_by_role("button", name="新建用户").click()
    dialog = page.get_by_role("dialog", name="新建用户")
    dialog.get_by_label("登录名").fill(f"bt_newduty_{suffix}")
    dialog.get_by_label("姓名").fill("新值班员孙")
    dialog.get_by_label("初始密码").fill("New-duty-pass-2026")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("users-table")).to_contain_text(f"bt_newduty_{suffix}")

    fresh = new_page(mobile=mobile)
    fresh.page.goto("/login")
    fresh.page.get_by_label("用户名").fill(f"bt_newduty_{suffix}")
    fresh.page.get_by_label("密码").fill("New-duty-pass-2026")
    fresh.page.get_by_role("button", name="登录").click()
    expect(fresh.page).to_have_url(re.compile(r"/workspace$"))
    expect(fresh.page.get_by_test_id("page-workspace")).to_be_visible()


def test_the_dashboard_switches_ranges_and_describes_every_chart(
        open_as: Callable[..., Session], seed: Seeder) -> None:
    seed.event("站前街道供热不达标", topic="heating", grade="II", alert=False)
    s = open_as("leader", "/dashboard")
    page = s.page
    expect(page.get_by_test_id("page-dashboard")).to_contain_text("信息量趋势")
    expect(page.get_by_test_id("page-dashboard")).to_contain_text("近 30 天")
    page.get_by_text("近7天").click()
    expect(page).to_have_url(re.compile(r"range=7"))
    expect(page.get_by_test_id("page-dashboard")).to_contain_text("近 7 天")
    page.get_by_text("按年").click()
    expect(page.get_by_test_id("page-dashboard")).to_contain_text("-01-01 至")
    # each chart: role=img with a name, and a text summary beside it
    charts = page.locator("figure.base-chart")
    assert charts.count() >= 8
    for i in range(charts.count()):
        fig = charts.nth(i)
        assert fig.locator("[role=img]").get_attribute("aria-label")
        assert fig.locator("figcaption").inner_text().strip()


# (role, path, test id, screenshot name): every page of this area, for the roles that use it.
PAGES = [
    ("duty", "/mentions", "page-mentions", "mentions-duty"),
    ("handler", "/mentions", "page-mentions", "mentions-handler"),
    ("leader", "/dashboard", "page-dashboard", "dashboard-leader"),
    ("duty", "/reports", "page-reports", "reports-duty"),
    ("handler", "/reports", "page-reports", "reports-handler"),
    ("duty", "/events/{event}", "page-event", "event-duty"),
    ("admin", "/admin/users", "page-admin-users", "admin-users"),
    ("admin", "/admin/units", "page-admin-units", "admin-units"),
    ("admin", "/admin/sources", "page-admin-sources", "admin-sources"),
    ("admin", "/admin/channels", "page-admin-channels", "admin-channels"),
    ("admin", "/admin/calendar", "page-admin-calendar", "admin-calendar"),
    ("admin", "/admin/taxonomy", "page-admin-taxonomy", "admin-taxonomy"),
]


@pytest.mark.parametrize("mobile", [False, True], ids=["1440", "390"])
@pytest.mark.parametrize(("role", "path", "testid", "name"), PAGES, ids=[p[3] for p in PAGES])
def test_each_page_passes_axe_without_errors_or_sideways_scroll(
        open_as: Callable[..., Session], seed: Seeder, axe_check: Callable[[Page], None],
        no_sideways_scroll: Callable[[Page], None], screenshot: Callable[[Page, str], Path],
        role: str, path: str, testid: str, name: str, mobile: bool) -> None:
    if "{event}" in path:
        path = path.format(event=seed.event("站前街道违停占用消防通道", topic="parking", grade="II", posts=3))
    if path == "/admin/calendar":
        # The office calendar API comes with another branch (h12-tickets); until the merge the page says so.
        s = open_as(role, "/workspace", mobile=mobile)
        s.watch.allow(404, "/api/calendar/")
        s.page.goto(path)
    else:
        s = open_as(role, path, mobile=mobile)
    page = s.page
    expect(page.get_by_test_id(testid)).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".el-loading-mask")).to_have_count(0)
    axe_check(page)
    no_sideways_scroll(page)
    screenshot(page, f"{name}-{390 if mobile else 1440}")
