"""专题 in Chromium: a duty officer defines a topic after the fact (rules typed as tags), sees how many stored posts
it tagged, opens its page with the charts, events and tickets, and downloads the 专报."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from core.timeutil import utcnow
from tests.browser.conftest import Seeder, Session


def add_tags(page: Page, label: str, *words: str) -> None:
    box = page.get_by_label(label, exact=True)
    for word in words:
        box.fill(word)
        box.press("Enter")


def test_a_topic_defined_after_the_fact_shows_its_tagged_posts(
        open_as: Callable[..., Session], seed: Seeder, axe_check: Callable[[Page], None],
        screenshot: Callable[[Page, str], Path]) -> None:
    seed.event("南站棚改区动迁补偿标准迟迟不公布", topic="relocation", grade="III", alert=False, posts=3)
    seed.event("南站棚改区動遷安置房交房延期", topic="relocation", grade="IV", alert=False, posts=2,
               seen_at=utcnow() - timedelta(days=1))
    seed.event("南站棚改区动迁公司招聘保安", topic="other", grade=None, alert=False, posts=2)  # excluded
    s = open_as("duty", "/tracks")
    page = s.page
    expect(page.get_by_test_id("page-tracks")).to_be_visible()
    page.get_by_test_id("new-track").click()
    form = page.get_by_test_id("track-form")
    expect(form).to_be_visible()
    form.get_by_label("专题名称").fill("南站棚改区动迁")
    add_tags(page, "全部包含的关键词", "南站棚改区")
    add_tags(page, "包含任一的关键词", "动迁", "补偿")
    add_tags(page, "排除的关键词", "招聘")
    page.get_by_label("开始日期").fill((utcnow() - timedelta(days=7)).strftime("%Y-%m-%d"))
    page.get_by_label("开始日期").press("Enter")
    axe_check(page)
    screenshot(page, "track-form-duty-1440")
    page.get_by_test_id("save-track").click()
    expect(page.get_by_text("已保存，已标记 5 条信息")).to_be_visible()
    row = page.get_by_test_id("tracks-table").locator("tr", has_text="南站棚改区动迁")
    expect(row.locator("[data-testid^=track-count-]")).to_have_text("5")
    axe_check(page)
    screenshot(page, "tracks-duty-1440")

    row.get_by_role("link", name="南站棚改区动迁").click()
    expect(page).to_have_url(re.compile(r"/tracks/\d+$"))
    expect(page.get_by_test_id("figure-mentions")).to_have_text("5")
    expect(page.get_by_test_id("figure-events")).to_have_text("2")
    events = page.get_by_test_id("track-events")
    expect(events).to_contain_text("南站棚改区动迁补偿标准迟迟不公布")
    expect(events).to_contain_text("南站棚改区動遷安置房交房延期")
    expect(events).not_to_contain_text("招聘")
    expect(page.locator("canvas").first).to_be_visible()  # ECharts drew
    axe_check(page)
    screenshot(page, "track-duty-1440")
    with page.expect_download() as info:
        page.get_by_test_id("track-report").click()
    assert info.value.suggested_filename.endswith(".docx")


def test_topic_pages_fit_a_phone(open_as: Callable[..., Session], seed: Seeder, axe_check: Callable[[Page], None],
                                 no_sideways_scroll: Callable[[Page], None],
                                 screenshot: Callable[[Page, str], Path]) -> None:
    seed.event("浑河南岸小区供暖不热已一周", topic="heating", grade="III", alert=False, posts=2)
    s = open_as("leader", "/tracks", mobile=True)
    page = s.page
    page.get_by_test_id("new-track").click()
    form = page.get_by_test_id("track-form")
    form.get_by_label("专题名称").fill("浑河南岸供暖")
    add_tags(page, "包含任一的关键词", "供暖")
    add_tags(page, "全部包含的关键词", "浑河南岸")
    page.get_by_test_id("save-track").click()
    row = page.get_by_test_id("tracks-table").locator("tr", has_text="浑河南岸供暖")
    expect(row.locator("[data-testid^=track-count-]")).to_have_text("2")
    axe_check(page)
    no_sideways_scroll(page)
    screenshot(page, "tracks-leader-390")
    row.get_by_role("link", name="浑河南岸供暖").click()
    expect(page.get_by_test_id("figure-mentions")).to_have_text("2")
    expect(page.get_by_test_id("track-events")).to_contain_text("浑河南岸小区供暖不热已一周")
    axe_check(page)
    no_sideways_scroll(page)
    screenshot(page, "track-leader-390")
