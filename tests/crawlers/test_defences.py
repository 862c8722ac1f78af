"""Fault injection on the local server: walls, refusals, bad bodies; then a good answer later."""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from crawl_helpers import FeedServer, add_source, crawl, get_source
from sqlmodel import Session, col, select

from core import migrate
from core.alerts.models import Alert
from core.config import get_settings
from core.db import get_engine, reset_engine
from core.mentions.models import Mention
from tests.conftest import realdata

JSON = {"Content-Type": "application/json; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
SECRET = "SUB=_2A25secret-cookie-value"


def alerts(engine: sa.Engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).order_by(col(Alert.id))))


def test_walls_and_failures_set_health_open_one_alert_and_recover(
        db: sa.Engine, feed_server: FeedServer, stored_log: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_CRAWL_TIMEOUT_SECONDS", "4")  # fast local pages answer well within it, even under load
    timeline = realdata("weibo/json/m_weibo_cn_getIndex_containerid_1076031669879400_2019-06.json").read_bytes()
    thread = realdata("forums/discuz/magichtml_discuzX33_csolbbs_tid38672.html").read_bytes()
    base = feed_server.url("/wb")
    feed_server.serve("/wb/api/container/getIndex", json.dumps({"ok": -100, "url":
                      "https://passport.weibo.cn/signin/welcome?entry=mweibo"}).encode(), headers=JSON)
    add_source(db, "登录失效", base, kind="weibo", params={"mode": "timeline", "uid": "1669879400",
                                                          "base_url": base, "max_pages": 1})
    with Session(db) as session:
        src = session.exec(select(__import__("core.sources.models", fromlist=["Source"]).Source)
                           .where(col(__import__("core.sources.models", fromlist=["Source"]).Source.name) == "登录失效")
                           ).one()
        src.credentials = {"cookie": SECRET}
        session.add(src)
        session.commit()
    feed_server.serve("/empty/api/container/getIndex", json.dumps(
        {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}, ensure_ascii=False).encode(), headers=JSON)
    add_source(db, "空结果", feed_server.url("/empty"), kind="weibo",
               params={"mode": "search", "keyword": "停车", "base_url": feed_server.url("/empty")})
    feed_server.serve("/bad/api/container/getIndex", timeline[:5000], headers=JSON)  # malformed JSON
    add_source(db, "坏JSON", feed_server.url("/bad"), kind="weibo",
               params={"uid": "1", "base_url": feed_server.url("/bad"), "max_pages": 1})
    feed_server.serve("/teapot/api/container/getIndex", status=418)
    add_source(db, "418", feed_server.url("/teapot"), kind="weibo",
               params={"uid": "1", "base_url": feed_server.url("/teapot")})
    feed_server.serve("/slow/f", b"<html></html>", delay=6, headers=HTML)
    add_source(db, "很慢", feed_server.url("/slow/f?kw=x"), kind="forum", params={"platform": "tieba"})
    feed_server.serve("/cut.html", thread[: len(thread) // 2], headers=HTML)  # truncated HTML
    add_source(db, "截断", feed_server.url("/cut.html"), kind="forum")
    feed_server.serve("/gbk.html", thread.decode("utf-8").replace("charset=utf-8", "charset=gbk").encode("gb18030"),
                      headers={"Content-Type": "text/html; charset=iso-8859-1"})  # wrong charset header
    add_source(db, "错误编码", feed_server.url("/gbk.html"), kind="forum")
    feed_server.serve("/forum.php", status=302, headers={"Location": "/member.php?mod=logging&action=login"})
    feed_server.serve("/member.php", "<html><body>您需要登录后才可以回帖</body></html>".encode(), headers=HTML)
    add_source(db, "跳转登录", feed_server.url("/forum.php?mod=forumdisplay&fid=2"), kind="forum")

    log = tmp_path / "crawl.log"
    report = crawl(LOG_FILE=str(log), LOG_LEVEL="DEBUG")["sources"]

    assert report["登录失效"]["errors"], report
    assert report["登录失效"]["errors"][0].startswith("微博要求登录（ok=-100")
    assert feed_server.hits("/wb/api/container/getIndex")[0]["Cookie"] == SECRET
    assert SECRET not in log.read_text(encoding="utf-8")  # sent, never logged
    assert (report["空结果"]["status"], report["空结果"]["new"]) == ("ok", 0)
    assert report["坏JSON"]["errors"][0].startswith("返回的不是 JSON")
    assert report["418"]["errors"] == ["HTTP 418"] and len(feed_server.hits("/teapot/api/container/getIndex")) == 2
    assert report["很慢"]["errors"] == ["超时：4 秒内无响应"]
    assert report["截断"]["errors"] == ["页面不完整（下载被截断），本次未保存"]
    assert report["错误编码"]["new"] == 4
    with Session(db) as session:
        titles = {m.title for m in session.exec(select(Mention)).all()}
    assert titles == {"建议对鼠神进行改版", "回复：建议对鼠神进行改版"}
    assert report["跳转登录"]["errors"][0].startswith("跳转到登录页面")
    health = {n: get_source(db, n).health for n in report}
    assert health == {"登录失效": "login_expired", "空结果": "ok", "坏JSON": "error", "418": "blocked",
                      "很慢": "error", "截断": "error", "错误编码": "ok", "跳转登录": "login_expired"}
    opened = alerts(db)
    assert sorted(a.level for a in opened) == ["blocked", "login_expired", "login_expired"]
    wall = next(a for a in opened if a.source_id == get_source(db, "登录失效").id)
    assert wall.kind == "source" and "请重新登录并更新该源的 Cookie" in wall.reason
    assert wall.dedupe_key.startswith(f"source:{wall.source_id}:login_expired:")
    assert get_source(db, "登录失效").circuit_open_until is not None

    # The login is renewed: a named crawl (explicit, so past the breaker) collects and resolves.
    feed_server.serve("/wb/api/container/getIndex", timeline, headers=JSON)
    again = crawl(["登录失效", "跳转登录"])["sources"]
    assert again["登录失效"]["new"] == 10
    assert get_source(db, "登录失效").health == "ok"
    statuses = {a.source_id: a.status for a in alerts(db)}
    assert statuses[get_source(db, "登录失效").id] == "resolved"
    assert statuses[get_source(db, "跳转登录").id] == "open"
    assert len(alerts(db)) == 3  # the still-failing source did not get a second alert


def test_two_crawler_processes_on_one_redis_fetch_and_store_each_thread_once(
        feed_server: FeedServer, redis_url: str, postgres_database: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sa.create_engine(postgres_database)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(postgres_database)  # the schema as deployed, not create_all
    monkeypatch.setenv("YUQING_DATABASE_URL", postgres_database)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    reset_engine()
    listing = realdata("forums/discuz/gne_discuzX32_forumdisplay_list_nsh163_rendered.html").read_bytes()
    thread = realdata("forums/discuz/magichtml_discuzX33_csolbbs_tid38672.html").read_bytes()
    feed_server.serve("/forum-1-1.html", listing, headers=HTML)
    tids = [t.split("_")[1] for t in __import__("re").findall(r'id="normalthread_\d+', listing.decode())]
    for tid in tids:
        feed_server.serve(f"/thread-{tid}-1-1.html", thread, headers=HTML, delay=0.05)
    add_source(get_engine(), "逆水寒论坛", feed_server.url("/forum-1-1.html"), kind="forum",
               params={"base_url": feed_server.url(""), "max_threads": 40})
    shared = {"SCHEDULER": "scrapy_redis.scheduler.Scheduler", "DUPEFILTER_CLASS": "crawlers.scaleout.RedisDupeFilter",
              "SCHEDULER_PERSIST": True, "REDIS_URL": redis_url, "YUQING_CRAWL_ROUND": "test-round",
              "YUQING_ON_STORED": ""}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: crawl(**shared), range(2)))

    fetched = {tid: len(feed_server.hits(f"/thread-{tid}-1-1.html")) for tid in tids}
    assert len(tids) == 40 and set(fetched.values()) == {1}  # each thread page fetched by one process
    assert sum(r["sources"]["逆水寒论坛"]["new"] for r in runs) == 40 * 4
    assert all(r["sources"]["逆水寒论坛"]["new"] > 0 for r in runs)  # both did share the work
    with Session(get_engine()) as session:
        rows = session.exec(select(Mention.external_id)).all()
    assert len(rows) == len(set(rows)) == 160
    reset_engine()
    get_settings.cache_clear()
    engine.dispose()
