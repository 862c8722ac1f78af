"""The shell of the web app in Chromium: the login form, role menus, 403 on a forbidden URL."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import People, Session

MENUS = {
    "duty": {"工作台", "预警", "工单", "信息检索", "专题", "领导看板", "报表", "值班", "来电登记"},
    "handler": {"工作台", "工单", "信息检索", "报表"},
    "leader": {"工作台", "预警", "工单", "待我签发", "信息检索", "专题", "领导看板", "报表", "值班"},
    "admin": {"工作台", "预警", "工单", "待我签发", "信息检索", "专题", "领导看板", "报表", "值班", "来电登记",
              "系统管理", "用户", "单位与岗位", "监测源", "通知渠道", "节假日", "话题与地名"},
}


def test_the_login_form_signs_in_and_refuses_a_wrong_password(
        new_page: Callable[..., Session], people: People, axe_check: Callable[..., None]) -> None:
    s = new_page()
    page = s.page
    s.watch.allow(401, "/api/auth/token")
    page.goto("/tickets")
    expect(page).to_have_url(re.compile(r"/login\?redirect=(%2F|/)tickets$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    axe_check(page)
    page.get_by_label("用户名").fill(people.users["duty"])
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("用户名或密码错误")
    page.get_by_label("密码").fill(people.password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/tickets$"))
    expect(page.get_by_test_id("office-name")).not_to_be_empty()


def menu_labels(s: Session) -> set[str]:
    menu = s.page.get_by_test_id("side-menu")
    return {t.strip() for t in menu.locator(".el-menu-item span, .el-sub-menu__title span").all_inner_texts()}


def test_each_role_sees_only_its_menu_and_a_forbidden_url_gives_403(open_as: Callable[..., Session]) -> None:
    for role, expected in MENUS.items():
        s = open_as(role, "/workspace")
        expect(s.page.get_by_test_id("side-menu")).to_be_visible()
        assert menu_labels(s) == expected, role
    s = open_as("handler", "/admin/users")
    expect(s.page.get_by_test_id("page-403")).to_be_visible()
    s = open_as("duty", "/review")
    expect(s.page.get_by_test_id("page-403")).to_be_visible()


def test_signing_out_forgets_the_token_and_an_expired_one_asks_to_sign_in_again(
        open_as: Callable[..., Session], new_page: Callable[..., Session]) -> None:
    s = open_as("duty", "/workspace")
    page = s.page
    page.get_by_test_id("user-menu").click()
    page.get_by_text("退出登录").click()
    expect(page).to_have_url(re.compile(r"/login"))
    assert page.evaluate("() => sessionStorage.getItem('yuqing.token')") is None
    expect(page.get_by_test_id("side-menu")).to_have_count(0)

    s = new_page(token="expired-or-forged")
    s.watch.allow(401, "/api/users/me")
    s.page.goto("/tickets")
    expect(s.page.get_by_role("dialog")).to_contain_text("登录已过期")
    s.page.get_by_role("button", name="重新登录").click()
    expect(s.page).to_have_url(re.compile(r"/login\?redirect=(%2F|/)tickets"))
