"""News detail fields: the heading, the visible publication time and 来源 as the author."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers.articles import extract
from tests.conftest import realdata

# The layout of a 区人民政府 政务公开 article page (TRS/Hanweb-style CMS): a date-only <meta>,
# the site name after the title, and "发布时间 … 来源：…" under the heading.
GOV_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="SiteName" content="新抚区人民政府">
<meta name="ColumnName" content="街道动态">
<meta name="ArticleTitle" content="站前街道开展冬季清雪除冰志愿服务活动">
<meta name="PubDate" content="2025-01-14">
<meta name="ContentSource" content="站前街道">
<title>站前街道开展冬季清雪除冰志愿服务活动-新抚区人民政府</title></head>
<body><div class="header"><a href="/">新抚区人民政府</a> <a href="/zwgk/">政务公开</a></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/jddt/">街道动态</a></div>
<div class="article">
<h1 class="article-title">站前街道开展冬季清雪除冰志愿服务活动</h1>
<div class="article-info"><span>发布时间：2025年01月14日08:35</span><span>来源：站前街道</span>
<span>作者：王晓明</span><span>浏览次数：128</span></div>
<div class="article-content" id="zoom">
<p>1月13日夜间，我区普降中雪。站前街道第一时间组织机关干部、社区工作者和志愿者共120余人，对辖区主次干道、背街小巷和老旧小区楼院的积雪进行清理。</p>
<p>截至14日上午8时，辖区内主要道路积雪已全部清理完毕，居民出行安全有序。街道提醒广大居民雪天出行注意防滑。</p>
<p>下一步，站前街道将继续做好雪后道路巡查，及时清除冰雪隐患，确保群众安全出行。</p>
</div></div>
<div class="footer">主办：抚顺市新抚区人民政府办公室 地址：抚顺市新抚区 ICP备案号</div>
</body></html>"""


def test_a_gov_page_gives_its_heading_the_shown_time_and_its_source() -> None:
    a = extract(GOV_PAGE, "https://www.xinfu.gov.cn/jddt/2025-01/14/content_1234.html")
    assert a.title == "站前街道开展冬季清雪除冰志愿服务活动"
    assert a.published_at == datetime(2025, 1, 14, 0, 35, tzinfo=UTC)  # 08:35 Beijing time
    assert a.author == "站前街道"
    assert "全部清理完毕" in a.text


def test_a_real_kepu_gov_cn_page_gives_heading_time_and_source() -> None:
    page = realdata("news_gov_html/magichtml_kepu_gov_cn_content_1755244.html").read_text(encoding="utf-8")
    a = extract(page, "https://www.kepu.gov.cn/politics/2023-12/01/content_1755244.html")
    assert a.title == "习近平主持召开深入推进长三角一体化发展座谈会"
    assert a.author == "新华社"
    assert a.published_at == datetime(2023, 12, 1, 6, 43, tzinfo=UTC)  # "2023-12-01 14:43" on the page


def test_a_real_people_com_cn_page_gives_heading_time_and_source() -> None:
    page = realdata("news_gov_html/magichtml_people_com_cn_40232587.html").read_text(encoding="utf-8")
    a = extract(page, "http://finance.people.com.cn/n1/2024/0510/c1004-40232587.html")
    assert a.title == "在新时代中部地区崛起中争先出彩（推动高质量发展·权威发布）"
    assert a.author == "人民网－人民日报"
    assert a.published_at == datetime(2024, 5, 9, 22, 58, tzinfo=UTC)  # "2024年05月10日06:58"


@pytest.mark.parametrize("title", ["2024-2025年供暖季收费标准公布", "关于G-1线路施工的通告"])
def test_a_heading_with_its_own_dash_is_kept_whole(title: str) -> None:
    page = GOV_PAGE.replace("站前街道开展冬季清雪除冰志愿服务活动", title)
    assert extract(page, "https://www.xinfu.gov.cn/a/2025-01/14/content_1.html").title == title


def test_a_meta_time_with_a_time_of_day_is_kept() -> None:
    page = GOV_PAGE.replace('<meta name="PubDate" content="2025-01-14">',
                            '<meta name="PubDate" content="2025-01-14 09:10:00">')
    a = extract(page, "https://www.xinfu.gov.cn/jddt/2025-01/14/content_1234.html")
    assert a.published_at == datetime(2025, 1, 14, 1, 10, tzinfo=UTC)
