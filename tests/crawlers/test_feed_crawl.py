"""The feed spider end to end: a real local HTTP server, a real crawl in a child process
(Twisted's reactor cannot restart inside one pytest process), a real SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from crawl_helpers import (
    FIXTURES,
    FeedServer,
    add_source,
    closed_port,
    crawl,
    get_source,
    read_stored_log,
)
from sqlmodel import Session, col, select

from core.mentions.models import Mention
from core.mentions.service import url_fingerprint
from crawlers.feeds import parse_feed
from crawlers.run import CrawlError, run_crawl_subprocess
from tests.conftest import realdata

RSS = (FIXTURES / "zhanqian_rss.xml").read_bytes()
ATOM = (FIXTURES / "zhanqian_atom.xml").read_bytes()
XML = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM_XML = {"Content-Type": "application/atom+xml"}
EMPTY_ITEM_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>站前街道</title><link>https://zqjd.xinfu.example/</link>
<item><link>https://zqjd.xinfu.example/empty</link><description></description></item>
<item><title>永安社区开展消防安全检查</title><link>https://zqjd.xinfu.example/xf</link></item>
</channel></rss>""".encode()


def mentions(engine: sa.Engine) -> list[Mention]:
    with Session(engine) as session:
        return list(session.exec(select(Mention).order_by(col(Mention.id))))


def test_it_stores_each_feed_entry_once_and_announces_only_new_ids(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    rss_id = add_source(db, "站前街道动态", feed_server.serve(
        "/rss.xml", RSS, headers={**XML, "Last-Modified": "Mon, 22 Jan 2024 02:00:00 GMT"},
        etag='"v1"'), channel="news")
    atom_id = add_source(db, "网络问政", feed_server.serve("/atom.xml", ATOM, headers=ATOM_XML),
                         channel="board")

    first = crawl()

    assert first["sources"]["站前街道动态"] | {"warnings": []} == {
        "name": "站前街道动态", "source_id": rss_id, "status": "ok", "http_status": 200,
        "fetched": 3, "filtered": 0, "new": 3, "duplicate": 0, "rejected": 0,
        "store_failed": 0, "pages_failed": 0, "errors": [], "warnings": []}
    assert first["sources"]["网络问政"]["new"] == 4
    assert first["totals"]["new"] == 7
    stored = mentions(db)
    assert len(stored) == 7
    snow = next(m for m in stored if m.external_id == "zqjd-2024-0112-001")
    assert (snow.source_id, snow.channel, snow.title, snow.author) == (
        rss_id, "news", "站前街道开展冬季除雪清冰专项行动", "站前街道办事处")
    assert snow.url == "https://zqjd.xinfu.example/dongtai/2024/0112/001.html"
    assert snow.published_at == datetime(2024, 1, 12, 0, 30, tzinfo=UTC)
    assert snow.text.endswith("累计清运积雪350余立方米。")
    assert snow.raw.startswith("{") and snow.raw_sha256
    heating = next(m for m in stored if m.external_id.endswith("post-3101"))
    assert (heating.source_id, heating.channel, heating.author) == (atom_id, "board", "热心市民王女士")
    assert heating.published_at == datetime(2024, 1, 18, 13, 5, tzinfo=UTC)
    # Every new mention was announced once, after its row was committed.
    announced = read_stored_log(stored_log)
    assert sorted(a["id"] for a in announced) == [m.id for m in stored]
    assert all(a["committed"] for a in announced)
    rss_source = get_source(db, "站前街道动态")
    assert (rss_source.health, rss_source.consecutive_failures) == ("ok", 0)
    assert rss_source.cursor == {"etag": '"v1"', "last_modified": "Mon, 22 Jan 2024 02:00:00 GMT"}
    assert rss_source.last_item_at is not None

    second = crawl()

    # The RSS server honours the ETag (304); the Atom one resends everything.
    assert feed_server.hits("/rss.xml")[-1]["If-None-Match"] == '"v1"'
    assert feed_server.hits("/rss.xml")[-1]["If-Modified-Since"] == "Mon, 22 Jan 2024 02:00:00 GMT"
    assert second["sources"]["站前街道动态"]["status"] == "not_modified"
    assert second["sources"]["站前街道动态"]["http_status"] == 304
    assert (second["sources"]["网络问政"]["new"], second["sources"]["网络问政"]["duplicate"]) == (0, 4)
    assert len(mentions(db)) == 7
    assert len(read_stored_log(stored_log)) == 7
    assert get_source(db, "站前街道动态").health == "ok"


def test_a_failing_source_records_the_reason_stores_nothing_and_recovers_later(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_CRAWL_TIMEOUT_SECONDS", "4")  # fast local pages answer well within it, even under load
    truncated = RSS[: RSS.index("西一路12号院".encode())]
    add_source(db, "返回500", feed_server.serve("/500.xml", status=500))
    add_source(db, "截断的源", feed_server.serve("/cut.xml", truncated, headers=XML))
    add_source(db, "网页不是源", feed_server.serve(
        "/page.html", "<html><body><p>页面维护中</p></body></html>".encode(),
        headers={"Content-Type": "text/html; charset=utf-8"}))
    add_source(db, "超时的源", feed_server.serve("/slow.xml", ATOM, headers=ATOM_XML, delay=6))
    add_source(db, "连不上的源", f"http://127.0.0.1:{closed_port()}/feed.xml")
    add_source(db, "网络问政", feed_server.serve("/atom.xml", ATOM, headers=ATOM_XML))
    add_source(db, "停用的源", feed_server.serve("/off.xml", RSS, headers=XML), enabled=False)
    add_source(db, "含空条目的源", feed_server.serve("/empty-item.xml", EMPTY_ITEM_RSS, headers=XML))

    first = crawl()

    report = first["sources"]
    assert report["返回500"]["errors"] == ["HTTP 500"]
    assert len(feed_server.hits("/500.xml")) == 2  # retried once (RETRY_TIMES=1), then given up
    assert report["截断的源"]["errors"][0].startswith("不是有效的RSS/Atom：文档不完整")
    assert report["网页不是源"]["errors"] == ["不是有效的RSS/Atom：无法识别为订阅源（text/html）"]
    assert report["超时的源"]["errors"] == ["超时：4 秒内无响应"]
    assert report["连不上的源"]["errors"] == ["连接被拒绝"]
    assert "停用的源" not in report
    assert report["网络问政"]["new"] == 4
    # An entry core refuses is counted and its reason reported; the rest of the feed is kept.
    partly = report["含空条目的源"]
    assert (partly["status"], partly["fetched"], partly["new"], partly["rejected"]) == ("ok", 2, 1, 1)
    assert partly["warnings"] == ["丢弃 https://zqjd.xinfu.example/empty：标题和正文不能都为空"]
    assert {m.source_id for m in mentions(db)} == {get_source(db, "网络问政").id,
                                                   get_source(db, "含空条目的源").id}
    failed = get_source(db, "返回500")
    assert (failed.health, failed.last_error, failed.consecutive_failures) == ("error", "HTTP 500", 1)
    assert failed.last_success_at is None and failed.last_fetch_at is not None
    assert get_source(db, "截断的源").last_error.startswith("不是有效的RSS/Atom")
    assert get_source(db, "超时的源").last_error == "超时：4 秒内无响应"
    assert get_source(db, "网络问政").health == "ok"

    # The sites are repaired; a named crawl also reaches the disabled source and reports typos.
    feed_server.serve("/500.xml", RSS, headers=XML)
    feed_server.serve("/cut.xml", ATOM, headers=ATOM_XML)
    second = crawl(["返回500", "截断的源", "停用的源", "没有这个源"])

    assert second["sources"]["返回500"]["new"] == 3
    assert second["sources"]["截断的源"]["duplicate"] == 4  # same posts as 网络问政 (same URLs)
    assert second["sources"]["停用的源"]["duplicate"] == 3
    assert second["sources"]["没有这个源"]["errors"] == ["未找到该监测源"]
    recovered = get_source(db, "返回500")
    assert (recovered.health, recovered.last_error, recovered.consecutive_failures) == ("ok", "", 0)
    assert get_source(db, "截断的源").health == "ok"
    assert len(mentions(db)) == 8


def test_keywords_keep_only_entries_that_mention_them(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    add_source(db, "问政-停车除雪", feed_server.serve("/atom.xml", ATOM, headers=ATOM_XML),
               keywords=["停车", "除雪"])

    result = crawl()["sources"]["问政-停车除雪"]

    assert (result["fetched"], result["filtered"], result["new"]) == (4, 2, 2)
    assert sorted(m.title for m in mentions(db)) == [
        "站前街道回应：西一路乱停车问题已协调交警整治", "站前街道除运雪进度通报（第二期）"]
    assert get_source(db, "问政-停车除雪").health == "ok"


def test_it_collects_real_wechat_and_gb2312_feeds_even_with_a_wrong_charset_header(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path) -> None:
    # Read in place, never copied into the repo.
    wechat = realdata("wechat/rss_hellodword_wechat-feeds/MzA3NTE1MjEwNQ==.xml")
    acn = realdata("encoding_gbk/chardet_GB2312_acnnewswire.net.xml")
    cnblog = realdata("encoding_gbk/chardet_GB2312_cnblog.org.xml")
    add_source(db, "北京12345市民热线", feed_server.serve(
        "/wechat.xml", wechat.read_bytes(), headers={"Content-Type": "text/xml"}), channel="wechat")
    # The servers claim a charset the GB2312 bytes are not in, as misconfigured portals do.
    add_source(db, "acnnewswire", feed_server.serve(
        "/acn.xml", acn.read_bytes(), headers={"Content-Type": "text/xml; charset=ISO-8859-1"}))
    add_source(db, "cnblog", feed_server.serve(
        "/cnblog.xml", cnblog.read_bytes(), headers={"Content-Type": "application/xml; charset=utf-8"}))

    report = crawl()["sources"]

    assert (report["北京12345市民热线"]["fetched"], report["北京12345市民热线"]["new"]) == (20, 20)
    assert (report["acnnewswire"]["fetched"], report["acnnewswire"]["new"]) == (8, 8)
    stored = mentions(db)
    wechat_posts = [m for m in stored if m.channel == "wechat"]
    assert all(m.url.startswith("https://mp.weixin.qq.com/s/") for m in wechat_posts)
    assert all(m.published_at is not None and m.published_at.tzinfo is not None
               for m in wechat_posts)
    jcb = next(m for m in stored if m.url.endswith("Art_ID=29698"))
    assert jcb.title.startswith("JCB 与中国银联（China UnionPay）完成ATM网关协议的签订")
    assert jcb.author == "Chris Lui"
    assert jcb.published_at == datetime(2005, 12, 27, 4, 8, 54, tzinfo=UTC)
    # cnblog's 16 posts link to 3 archive pages as page#anchor: the fragment tells them apart.
    cn = report["cnblog"]
    pages = {url_fingerprint(e.url) for e in parse_feed(cnblog.read_bytes()).entries}
    assert len(pages) == 16
    assert (cn["fetched"], cn["new"], cn["duplicate"]) == (16, 16, 0)
    first_post = next(m for m in stored if m.external_id.endswith("#109424958546889584"))
    assert first_post.title == "Picostation的PicoBlogger是 一个能让S"
    assert "支持很多种Blog服务" in first_post.text


def test_a_crawl_that_overruns_its_timeout_is_stopped_and_raises(
        db: sa.Engine, feed_server: FeedServer) -> None:
    add_source(db, "很慢的源", feed_server.serve("/slow.xml", ATOM, headers=ATOM_XML, delay=3))

    with pytest.raises(CrawlError, match="抓取超时"):
        run_crawl_subprocess(["很慢的源"], timeout=2, settings={"RETRY_TIMES": 0})
