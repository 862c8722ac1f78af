"""Feed reading rules on real captured feeds and on our own real-format samples (no reactor)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from crawl_helpers import FIXTURES

from crawlers.feeds import (
    FeedError,
    decode_feed_bytes,
    filter_entries,
    html_to_text,
    parse_feed,
    parse_feed_date,
)
from crawlers.items import MentionItem
from tests.conftest import realdata

WECHAT_DIR = "wechat/rss_hellodword_wechat-feeds"
GBK_DIR = "encoding_gbk"


def real_file(relative: str) -> bytes:
    # Licensed for reading only (no licence / LGPL): read in place, never copied into the repo.
    return realdata(relative).read_bytes()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_it_extracts_rss_entry_fields_exactly() -> None:
    feed = parse_feed(fixture("zhanqian_rss.xml"), url="https://zqjd.xinfu.example/rss.xml")

    assert (feed.version, feed.encoding, feed.title) == ("rss20", "utf-8", "站前街道 · 社区动态")
    first, second, third = feed.entries
    assert first.external_id == "zqjd-2024-0112-001"
    assert first.url == "https://zqjd.xinfu.example/dongtai/2024/0112/001.html"
    assert first.title == "站前街道开展冬季除雪清冰专项行动"
    assert first.author == "站前街道办事处"
    assert first.published_at == datetime(2024, 1, 12, 0, 30, tzinfo=UTC)
    # content:encoded wins over the teaser description; CDATA HTML becomes lines, script dropped.
    assert first.text == (
        "1月11日夜间至12日凌晨，新抚区普降中雪。\n"
        "站前街道组织机关干部、社区工作者&志愿者共120余人，对辖区西一路、永安桥等主次干道开展除雪清冰。\n"
        "截至12日10时，累计清运积雪350余立方米。")
    # No guid: the link identifies the entry; "email (Name)" authors give the name.
    assert second.external_id == second.url == "https://zqjd.xinfu.example/wenzheng/2024/0115/0087.html"
    assert second.title == "居民反映：西一路小区乱停车 & 消防通道被堵"
    assert second.author == "老站前"
    assert second.text == ("网友“老站前”留言：西一路12号院晚上车辆乱停，消防通道被堵死。\n"
                           "希望街道协调物业&交警尽快处理！")
    # A zone-less CMS date is Beijing time.
    assert second.published_at == datetime(2024, 1, 15, 11, 42, tzinfo=UTC)
    assert third.published_at == datetime(2024, 1, 22, 2, 0, tzinfo=UTC)
    assert third.text.splitlines() == [
        "为做好2024年老旧小区改造工作，现就以下事项征求居民意见：",
        "楼道照明与单元门更换；", "雨污分流管网改造；", "增设电动自行车集中充电桩。",
        "意见请于1月31日前反馈至所在社区居委会。"]


def test_it_extracts_atom_entry_fields_exactly() -> None:
    feed = parse_feed(fixture("zhanqian_atom.xml"), url="https://wenzheng.xinfu.example/atom.xml")

    assert feed.version == "atom10"
    by_id = {e.external_id.rsplit("-", 1)[-1]: e for e in feed.entries}
    heating = by_id["3101"]
    assert heating.url == "https://wenzheng.xinfu.example/post/3101"
    assert heating.title == "永安小区供暖不热，室温仅14度"
    assert heating.author == "热心市民王女士"
    assert heating.published_at == datetime(2024, 1, 18, 13, 5, tzinfo=UTC)  # +08:00 converted
    assert heating.text == ("家住站前街道永安小区3号楼，这几天室温只有14℃，老人孩子都冻感冒了。\n"
                            "给热力公司打电话说\"正在排查\"，一直没人来。")
    assert by_id["3102"].text.startswith("针对网友反映的西一路12号院乱停车")  # summary only
    garbage = by_id["3103"]
    assert garbage.title == "物业清运垃圾不及时"  # type="html" title stripped
    assert garbage.text == "南阳小区垃圾桶已经满溢三天，物业说清运车坏了。\n天冷还好，开春就要招苍蝇了。"
    assert garbage.published_at == datetime(2024, 1, 21, 7, 30, tzinfo=UTC)  # only <updated>


def test_entry_raw_keeps_the_original_entry_as_json_evidence() -> None:
    entry = parse_feed(fixture("zhanqian_atom.xml")).entries[0]
    raw = json.loads(entry.raw)
    assert raw["id"] == "tag:wenzheng.xinfu.example,2024:post-3101"
    assert raw["published"] == "2024-01-18T21:05:00+08:00"
    assert "&lt;p&gt;" not in raw["content"][0]["value"] and "<p>" in raw["content"][0]["value"]


def test_it_reads_a_real_wechat_account_feed() -> None:
    feed = parse_feed(real_file(f"{WECHAT_DIR}/MjM5MDA2MDMwMA==.xml"))

    assert feed.title == "深圳发布 | wechat-feeds"
    assert len(feed.entries) == 20
    first = feed.entries[0]
    assert first.title == "世界最高海中大桥——深中通道伶仃洋大桥东索塔主塔封顶"
    assert first.url == first.external_id == "https://mp.weixin.qq.com/s/-vP_pZek_yGN-DOyBqvbjw"
    assert first.text == first.title  # content:encoded holds only the title in these feeds
    assert first.published_at == datetime(2021, 6, 17, 7, 4, 57, tzinfo=UTC)  # 15:04:57 +0800
    assert first.author == ""


@pytest.mark.parametrize("content_type", [
    None,
    "text/xml",  # RFC 3023 would say us-ascii
    "application/rss+xml; charset=utf-8",  # the usual blanket server setting
    "text/xml; charset=ISO-8859-1",  # decodes anything, into mojibake
])
def test_a_gb2312_feed_decodes_whatever_the_charset_header_says(content_type: str | None) -> None:
    feed = parse_feed(real_file(f"{GBK_DIR}/chardet_GB2312_softsea.net.xml"),
                      content_type=content_type)

    assert feed.encoding == "gb18030"
    assert feed.title == "系统工具"
    assert len(feed.entries) == 100
    first = feed.entries[0]
    assert first.title == "Trojan Remover 6.4.5 Date 12.28"
    assert first.text.startswith("是一个专门用来清除特洛伊木马和自动修复系统文件的工具。")
    assert first.text.endswith("[系统工具 > 病毒防治 > 木马检测]")
    assert first.published_at == datetime(2005, 12, 28, 16, 0, tzinfo=UTC)


def test_real_gb2312_feeds_keep_authors_and_odd_date_formats() -> None:
    acn = parse_feed(real_file(f"{GBK_DIR}/chardet_GB2312_acnnewswire.net.xml"))
    first = acn.entries[0]
    assert first.title.startswith("JCB 与中国银联（China UnionPay）完成ATM网关协议的签订")
    assert first.author == "Chris Lui"
    assert first.published_at == datetime(2005, 12, 27, 4, 8, 54, tzinfo=UTC)  # "13:08:54+0900"

    cnblog = parse_feed(real_file(f"{GBK_DIR}/chardet_GB2312_cnblog.org.xml"))
    assert cnblog.version == "rss092"
    assert cnblog.entries[0].title == "Picostation的PicoBlogger是 一个能让S"
    assert cnblog.entries[0].published_at is None  # RSS 0.92 items here carry no date


def test_without_declaration_or_header_the_encoding_is_detected() -> None:
    body = real_file(f"{GBK_DIR}/chardet_GB2312_softsea.net.xml")
    undeclared = re.sub(rb"^<\?xml[^>]*\?>", b"", body)

    text, encoding = decode_feed_bytes(undeclared, None)

    assert encoding == "gb18030"
    assert "<title>系统工具</title>" in text


def test_a_declaration_that_lies_falls_back_to_what_decodes() -> None:
    # Our UTF-8 sample relabelled as GB2312 (as happens when a CMS template is copied).
    body = fixture("zhanqian_rss.xml").replace(b'encoding="UTF-8"', b'encoding="gb2312"')
    feed = parse_feed(body)
    assert feed.entries[0].title == "站前街道开展冬季除雪清冰专项行动"


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "响应为空"),
    (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
     b"<body><h1>\xe7\xbd\x91\xe5\x85\xb3\xe9\x94\x99\xe8\xaf\xaf</h1></body></html>", "无法识别"),
    (b'{"error": "rate limited"}', "无法识别"),
])
def test_a_body_that_is_not_a_feed_is_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match=reason) as caught:
        parse_feed(body, content_type="text/html")
    assert str(caught.value).startswith("不是有效的RSS/Atom")


def test_a_truncated_feed_is_refused_instead_of_storing_half_an_entry() -> None:
    body = fixture("zhanqian_rss.xml")
    cut = body[: body.index("西一路12号院".encode())]  # inside the second item
    with pytest.raises(FeedError, match="文档不完整"):
        parse_feed(cut)


def test_sloppy_but_complete_xml_is_read_leniently_with_a_warning() -> None:
    body = fixture("zhanqian_rss.xml").replace(
        b"<link>https://zqjd.xinfu.example/gonggao/2024/0122/0003.html</link>",
        b"<link>https://zqjd.xinfu.example/gonggao/show.php?id=3&cat=9</link>")
    feed = parse_feed(body)
    assert len(feed.entries) == 3
    assert feed.warnings and "XML 不规范" in feed.warnings[0]
    assert feed.entries[2].url == "https://zqjd.xinfu.example/gonggao/show.php?id=3&cat=9"


@pytest.mark.parametrize(("value", "expected"), [
    ("Thu, 17 Jun 2021 15:04:57 +0800", datetime(2021, 6, 17, 7, 4, 57, tzinfo=UTC)),
    ("Sat, 31 Dec 2005 06:15:55+0900", datetime(2005, 12, 30, 21, 15, 55, tzinfo=UTC)),
    ("Wed, 28 Dec 2005 16:00:00 GMT", datetime(2005, 12, 28, 16, 0, tzinfo=UTC)),
    ("Thu, 17 Jun 2021 15:04:57", datetime(2021, 6, 17, 7, 4, 57, tzinfo=UTC)),
    ("2024-01-18T21:05:00+08:00", datetime(2024, 1, 18, 13, 5, tzinfo=UTC)),
    ("2024-01-21T07:30:00Z", datetime(2024, 1, 21, 7, 30, tzinfo=UTC)),
    ("2024-01-15 19:42:00", datetime(2024, 1, 15, 11, 42, tzinfo=UTC)),
    ("2024年1月15日 19:42", datetime(2024, 1, 15, 11, 42, tzinfo=UTC)),
    ("2024/01/15", datetime(2024, 1, 14, 16, 0, tzinfo=UTC)),
    ("", None),
    ("昨天", None),
])
def test_feed_dates_become_utc_and_zoneless_dates_are_beijing_time(
        value: str, expected: datetime | None) -> None:
    assert parse_feed_date(value) == expected


def test_html_becomes_plain_text_with_entities_unescaped() -> None:
    html = ("<div><p>&nbsp;&nbsp;小区&lt;东门&gt;积水&amp;结冰</p><style>p{}</style>"
            "<p>请物业处理<br>谢谢&#x2764;</p></div>")
    assert html_to_text(html) == "小区<东门>积水&结冰\n请物业处理\n谢谢❤"


def test_keywords_keep_only_matching_entries_and_none_keeps_all() -> None:
    entries = parse_feed(fixture("zhanqian_atom.xml")).entries

    kept = filter_entries(entries, ["停车", "除雪"])

    assert [e.external_id[-4:] for e in kept] == ["3102", "3104"]
    assert filter_entries(entries, []) == entries
    assert [e.external_id[-4:] for e in filter_entries(entries, ["  ", "供暖不热"])] == ["3101"]


def test_an_entry_becomes_a_valid_core_mention() -> None:
    entry = parse_feed(fixture("zhanqian_rss.xml")).entries[0]
    item = MentionItem(source_id=7, channel="news", external_id=entry.external_id, url=entry.url,
                       title=entry.title, text=entry.text, author=entry.author,
                       published_at=entry.published_at, raw=entry.raw)
    mention = item.to_mention_create()
    assert (mention.source_id, mention.title, mention.published_at) == (
        7, "站前街道开展冬季除雪清冰专项行动", datetime(2024, 1, 12, 0, 30, tzinfo=UTC))
