"""The API at scale: a fresh PostgreSQL database loaded with N mentions shaped as the pipeline makes
them, the real app served by uvicorn, p50/p95/p99 of the endpoints people use.

    .venv/bin/python benchmarks/scale.py --mentions 1000000
    .venv/bin/python benchmarks/scale.py --mentions 20000          # about a minute, for iterating

Per 1M mentions the load makes what the pipeline made of 1,011,400 crawled posts: ~370k events
(most of one post, a few of hundreds), ~41k alerts (the graded events), ~1.9k tickets with their
timelines, responses and assisting units, over ~700 days ending today (~1.4k posts a day); texts
are real 留言 and 微博 from ../shared/realdata, the raw JSON as the crawlers keep it. The database
(own name, created here) is migrated with core.migrate, loaded with COPY, VACUUM ANALYZEd, measured
(pg_total_relation_size), served, and dropped at the end (--keep leaves it).

Last line: `worst p95 X ms; ledger year Y ms` (worst p95 of every listed endpoint but the ledger;
the slower p95 of the ledger's JSON and xlsx export of the last full year).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata" / "datasets"
sys.path.insert(0, str(ROOT))

TOPICS = ["parking", "snow", "relocation", "property", "heating", "utilities", "noise", "construction",
          "facilities", "safety", "welfare", "other"]
TOPIC_WEIGHTS = [9, 4, 3, 12, 8, 6, 7, 4, 8, 5, 6, 28]
CHANNELS = ["weibo", "wechat", "forum", "board", "news", "hotline"]
CHANNEL_WEIGHTS = [40, 15, 12, 18, 12, 3]
PLACES = ["站前街道", "永安社区", "站前社区", "新华社区", "铁路社区", "福民社区", "东华社区", "光明小区",
          "锦绣花园", "站前广场", "永安台", "中央大街", "新抚路", "裕民路", "东公园", "南阳街"]
SENSITIVE = ["拆迁", "上访", "维权", "堵路", "群体", "跳楼", "欠薪", "强拆"]
KEYWORDS = ["停车", "物业", "噪音", "暖气", "施工", "垃圾", "拆迁", "积水", "小区", "投诉"]
RESPONSE_CHANNELS = ["weibo", "wechat", "website", "press_conference", "briefing", "interview", "policy_doc",
                     "phone_callback", "online_interview", "online_petition"]
OPEN_STATES = ["triage", "assigned", "handling", "review", "responded"]
SPAN_DAYS = 700
PASSWORD = "scale-bench-password-1"
GRAMS_INDEX_NAME = "ix_mention_search_grams"  # core.mentions.search_index.GRAMS_INDEX
DATABASE_SETTINGS = {"jit": "off", "random_page_cost": "1.1", "work_mem": "'16MB'"}


def escape(value: str) -> str:
    """A value for PostgreSQL's COPY text format."""
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r"))


def ts(value: float | None) -> str:
    if value is None:
        return "\\N"
    return datetime.fromtimestamp(value, UTC).isoformat()


def jsn(value: Any) -> str:
    return escape(json.dumps(value, ensure_ascii=False))


def line(*values: Any) -> str:
    out = []
    for v in values:
        if v is None:
            out.append("\\N")
        elif isinstance(v, bool):
            out.append("t" if v else "f")
        else:
            out.append(str(v))
    return "\t".join(out) + "\n"


def text_pool() -> list[tuple[str, str, str]]:
    """(title, text, author) from real 留言 and 微博 (whitespace collapsed)."""
    pool: list[tuple[str, str, str]] = []
    space = re.compile(r"\s+")
    with (REALDATA / "taidi2020_C_zhihui_zhengwu" / "fujian3_full4326_hotspot_unlabeled.clean.csv").open() as f:
        for row in csv.DictReader(f):
            pool.append((space.sub(" ", row["留言主题"]).strip()[:200], space.sub(" ", row["留言详情"]).strip()[:1500],
                         row["留言用户"][:50]))
    with (REALDATA / "fuzhou_12345_liuyan_weibo_timeofmei" / "weibo_search_fuzhou_env_keywords_3707.csv").open() as f:
        for row in csv.DictReader(f):
            body = space.sub(" ", row["微博正文"]).strip()[:1500]
            pool.append(("", body, row["用户昵称"][:50]))
    return [(t, x, a) for t, x, a in pool if x]


@dataclass
class EventPlan:
    idx: int
    topic: str
    start: float
    duration: float
    size: int
    grade: str | None = None
    places: list[str] = field(default_factory=list)
    ticketed: bool = False
    # Filled from its mentions.
    first: float = 0.0
    last: float = 0.0
    count: int = 0
    engagement: int = 0
    negative: int = 0
    relevant: bool = False
    max_risk: float = 0.0
    channels: list[str] = field(default_factory=list)
    sensitive: list[str] = field(default_factory=list)
    first_text: int = -1
    id: int = 0


def plan(n: int, now: float, rng: random.Random) -> list[EventPlan]:
    """Event sizes and times: ticketed matters of dozens of posts, graded ones of a few, most of one."""
    n_events = max(int(n * 0.37), 20)
    n_alerts = max(int(n * 0.041), 8)
    n_tickets = max(int(n * 0.0019), 6)
    sizes = [rng.randint(30, 120) for _ in range(n_tickets)]
    sizes += [rng.randint(3, 20) for _ in range(n_alerts - n_tickets)]
    rest_events = n_events - n_alerts
    rest = n - sum(sizes)
    if rest < rest_events:  # tiny runs: shrink the big ones
        scale = (n - rest_events) / sum(sizes)
        sizes = [max(1, int(s * scale)) for s in sizes]
        rest = n - sum(sizes)
    extra = [1] * rest_events
    for _ in range(rest - rest_events):  # a few ungraded matters of dozens of posts, most of one
        extra[int(rest_events * rng.random() ** 2)] += 1
    rng.shuffle(extra)
    sizes += extra
    grades = ["I"] * max(1, n_alerts // 400) + ["II"] * max(1, n_alerts // 40)
    grades += ["III"] * (n_alerts // 4)
    grades += ["IV"] * (n_alerts - len(grades))
    # The most serious matters get the tickets first (and a few IV).
    grades.sort(key=lambda g: {"I": 0, "II": 1, "III": 2, "IV": 3}[g])
    span = SPAN_DAYS * 86400
    events = []
    for i, size in enumerate(sizes):
        duration = min(size * 3 * 3600, 10 * 86400) if size > 1 else 0
        start = now - span + rng.random() * (span - duration - 600)
        e = EventPlan(idx=i, topic=rng.choices(TOPICS, TOPIC_WEIGHTS)[0], start=start, duration=duration, size=size)
        if i < n_alerts:
            e.grade = grades[i] if i < len(grades) else "IV"
            e.ticketed = i < n_tickets
        e.places = rng.sample(PLACES, rng.choice((0, 1, 1, 2)))
        events.append(e)
    return events


def bigrams(text: str) -> list[str]:
    chars = [c for c in text if not c.isspace()]
    return sorted({a + b for a, b in itertools.pairwise(chars)})[:600]


def simhash_of(i: int) -> int:
    return int.from_bytes(hashlib.blake2b(i.to_bytes(8, "little"), digest_size=8).digest(), "little")


def load(conn: psycopg.Connection[Any], n: int, rng: random.Random, now_dt: datetime) -> dict[str, int]:
    now = now_dt.timestamp()
    pool = text_pool()
    escaped = [(escape(t), escape(x), escape(a)) for t, x, a in pool]
    raw_body = [escape(json.dumps({"title": t, "text": x, "user": {"screen_name": a, "verified": False},
                                   "reposts_count": 0, "comments_count": 0, "attitudes_count": 0,
                                   "source": "微博 weibo.com", "pic_ids": [], "isLongText": len(x) > 140},
                                  ensure_ascii=False)) for t, x, a in pool]
    events = plan(n, now, rng)

    # Units, users, sources.
    units = [(i + 1, name, "community" if "社区" in name else "department") for i, name in enumerate(
        ["综合办公室", "党建工作办公室", "平安建设办公室", "城市管理办公室", "社区建设办公室", "民生保障办公室",
         "经济发展办公室", "征收办", "供暖服务站", "环卫所", "综合执法队", "派出所联络组",
         "永安社区", "站前社区", "新华社区", "铁路社区", "福民社区", "东华社区", "光明社区", "锦绣社区"])]
    from core.users.service import hash_password

    pw = hash_password(PASSWORD)
    users: list[tuple[int, str, str, str, int | None]] = [
        (1, "admin", "管理员", "admin", None), (2, "leader", "王主任", "leader", None)]
    users += [(3 + k, f"duty{k}", f"值班员{k}", "duty", None) for k in range(3)]
    users += [(6 + k, f"handler{u[0]}", f"承办人{u[0]}", "handler", u[0]) for k, u in enumerate(units)]
    sources = []
    for k in range(30):
        ch = CHANNELS[k % 5]
        sources.append((k + 1, f"来源{k + 1:02d}-{ch}", "feed" if ch in ("news", "wechat") else ch, ch,
                        f"https://src{k + 1}.example.cn/feed"))
    t0 = ts(now - SPAN_DAYS * 86400 - 86400)
    with conn.cursor() as cur:
        with cur.copy("COPY unit (id, name, kind, topics, contact, created_at) FROM STDIN") as cp:
            for uid, name, kind in units:
                cp.write(line(uid, name, kind, "", "", t0))
        with cur.copy("COPY app_user (id, username, full_name, role, unit_id, is_active, password_hash, created_at,"
                      " token_version) FROM STDIN") as cp:
            for uid, name, full, role, unit in users:
                cp.write(line(uid, name, full, role, unit, True, pw, t0, 0))
        with cur.copy("COPY source (id, name, kind, channel, publisher_kind, url, params, keywords, schedule_minutes,"
                      " enabled, created_at, health, last_fetch_at, last_success_at, last_item_at, last_error,"
                      " consecutive_failures, health_since, cursor, credentials) FROM STDIN") as cp:
            for sid, name, kind, ch, url in sources:
                health = "ok" if sid % 7 else "error"
                cp.write(line(sid, name, kind, ch, "media" if ch == "news" else "resident", url, "{}",
                              jsn(["站前"]), 15, True, t0, health, ts(now - 300), ts(now - (300 if health == "ok"
                                                                                          else 7200)),
                              ts(now - 900), "" if health == "ok" else "HTTP 503", 0 if health == "ok" else 4,
                              ts(now - 86400), "{}", "{}"))

    # Mentions of each event, then ids in the order they were stored.
    rows: list[tuple[Any, ...]] = []
    for e in events:
        for k in range(e.size):
            seen = e.start + (e.duration * (k / max(e.size - 1, 1)) ** 1.5 if e.size > 1 else 0) + rng.random() * 60
            ch = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            published = ch != "hotline"
            created = seen + (rng.random() * 1800 if published else 0)
            text_idx = rng.randrange(len(pool))
            likes, reposts, comments = (int(rng.paretovariate(1.3)) - 1 for _ in range(3))
            views = int(rng.paretovariate(1.1) * 20) if ch in ("weibo", "wechat") else 0
            draw = rng.random()
            sentiment = "negative" if draw < 0.42 else ("neutral" if draw < 0.88 else "positive")
            risk = round(rng.random() * (0.9 if e.grade else 0.4), 3)
            relevant = e.grade is not None or rng.random() < 0.6
            sensitive = [rng.choice(SENSITIVE)] if rng.random() < 0.05 else []
            source_id = None if ch == "hotline" else rng.choice([s[0] for s in sources if s[3] == ch])
            rows.append((created, seen, published, e.idx, ch, source_id, text_idx, likes, reposts, comments, views,
                         sentiment, risk, relevant, sensitive))
    rows.sort(key=lambda r: r[0])
    for r in rows:
        e = events[r[3]]
        if e.count == 0 or r[1] < e.first:
            e.first = r[1]
            e.first_text = r[6]
        e.last = max(e.last, r[1])
        e.count += 1
        e.engagement += r[7] + r[8] + r[9]
        e.negative += r[11] == "negative"
        e.relevant = e.relevant or r[13]
        e.max_risk = max(e.max_risk, r[12])
        if r[4] not in e.channels:
            e.channels.append(r[4])
        for s in r[14]:
            if s not in e.sensitive:
                e.sensitive.append(s)
    # Event ids in the order events were opened.
    for eid, e in enumerate(sorted(events, key=lambda e: e.first), start=1):
        e.id = eid
    with conn.cursor() as cur:
        with cur.copy("COPY event (id, title, topic, grade, status, created_at, updated_at, first_seen_at,"
                      " last_seen_at, mention_count, engagement, heat, negative_count, relevant, max_risk,"
                      " grade_score, grade_reason, topics, places, sensitive_terms, channels, story_bigrams)"
                      " FROM STDIN") as cp:
            for e in sorted(events, key=lambda e: e.id):
                title, body, _ = pool[e.first_text]
                reason = f"{e.count}条信息，互动{e.engagement}" if e.grade else ""
                cp.write(line(e.id, escape((title or body)[:120]), e.topic, e.grade, "open", ts(e.first + 60),
                              ts(e.last + 60), ts(e.first), ts(e.last), e.count, e.engagement,
                              round(e.engagement / max(1.0, (e.last - e.first) / 3600 + 1), 2), e.negative,
                              e.relevant, e.max_risk, round(e.max_risk * 100, 1), escape(reason),
                              jsn([e.topic]), jsn(e.places), jsn(e.sensitive), jsn(e.channels),
                              jsn(bigrams((title + body)[:300]))))
        cols = ("id, channel, external_id, url, title, text, author, published_at, likes, reposts, comments, views,"
                " source_id, url_fingerprint, created_at, fetched_at, seen_at, raw, raw_sha256, contact, analyzed_at,"
                " process_attempts, process_error, enqueued_at, label_topic, analyzer_version, topics, topic_scores,"
                " sentiment, sentiment_score, places, relevant, risk, sensitive_terms, simhash, simhash_b0,"
                " simhash_b1, simhash_b2, simhash_b3, event_id")
        with cur.copy(f"COPY mention ({cols}) FROM STDIN") as cp:
            buf: list[str] = []
            for mid, row in enumerate(rows, start=1):
                (created, seen, published, idx, ch, source_id, text_idx, likes, reposts, comments, views,
                 sentiment, risk, relevant, sensitive) = row
                e = events[idx]
                title, body, author = escaped[text_idx]
                url = "" if ch == "hotline" else f"https://{ch}.example.cn/p/{mid}"
                fp = hashlib.sha256(url.encode()).hexdigest() if url else None
                raw = raw_body[text_idx] if ch != "hotline" else ""
                sh = simhash_of(mid)
                scores = '{"' + e.topic + '": 0.8}'
                buf.append(line(
                    mid, ch, f"{ch}-{mid}", url, title, body, author, ts(seen) if published else None, likes, reposts,
                    comments, views, source_id, fp, ts(created), ts(created) if published else None, ts(seen),
                    raw, hashlib.sha256(raw.encode()).hexdigest() if raw else "",
                    "138****0000" if ch == "hotline" else "", ts(created + 2), 0, "", ts(created + 1), "", "2026.11",
                    jsn([e.topic]), scores, sentiment, 0.8 if sentiment == "negative" else 0.2,
                    jsn(e.places), relevant, risk, jsn(sensitive), f"{sh:016x}",
                    *((sh >> (16 * b)) & 0xFFFF for b in range(4)), e.id))
                if len(buf) >= 5000:
                    cp.write("".join(buf))
                    buf.clear()
            cp.write("".join(buf))

    # Alerts for the graded events, tickets for the most serious.
    graded = [e for e in events if e.grade]
    ticketed = [e for e in events if e.ticketed]
    with conn.cursor() as cur:
        with cur.copy("COPY alert (id, kind, event_id, level, reason, dedupe_key, status, created_at, acknowledged_at,"
                      " acknowledged_by_id, dismiss_reason, notified_at, notify_step, last_notified_at, raised_at,"
                      " closed_at, close_note) FROM STDIN") as cp:
            for aid, e in enumerate(sorted(graded, key=lambda e: e.first), start=1):
                created = e.first + 120
                if e.ticketed:
                    status, closed_at, note = "closed", ts(created + 3600), "已开单"
                elif now - created < 3 * 86400:
                    status, closed_at, note = "open", None, ""
                else:
                    status = rng.choice(["acknowledged", "dismissed", "closed"])
                    closed_at, note = (ts(created + 7200), "误报") if status != "acknowledged" else (None, "")
                cp.write(line(aid, "event", e.id, e.grade, f"{e.grade}级：{e.count}条信息", f"event:{e.id}:{e.grade}",
                              status, ts(created), ts(created + 600) if status != "open" else None,
                              3 if status != "open" else None, "误报" if status == "dismissed" else "",
                              ts(created + 30), 1, ts(created + 30), ts(created), closed_at, note))
        timeline: list[tuple[int, float, str, str, str, str]] = []
        responses: list[tuple[int, str, str, float, bool]] = []
        assisting: list[tuple[int, int, float]] = []
        with cur.copy("COPY ticket (id, title, note, event_id, grade, topic, state, unit_id, handler_id,"
                      " first_handler_id, created_by_id, created_at, updated_at, assigned_at, first_response_at,"
                      " closed_at, first_info_due_at, response_due_at, close_due_at, online_note, offline_note,"
                      " dismiss_reason, signed_off_by_id, signed_off_at, reviewed_by_id, reviewed_at,"
                      " confidentiality_checked, press_due_at, close_working_days, close_started_at, pause_reason,"
                      " paused_seconds, paused_working_days, reopened_count, close_due_provisional, graded_at,"
                      " draft_text, draft_updated_at) FROM STDIN") as cp:
            for tid, e in enumerate(sorted(ticketed, key=lambda e: e.first), start=1):
                created = e.first + rng.uniform(1, 6) * 3600
                age = now - created
                unit = rng.choice(units)[0]
                handler = 6 + unit - 1
                if age > 14 * 86400:
                    state = "dismissed" if rng.random() < 0.08 else "closed"
                else:
                    state = rng.choice(OPEN_STATES)
                assigned = created + rng.uniform(0.2, 3) * 3600 if state != "triage" else None
                answered = state in ("responded", "closed") or (state == "review" and rng.random() < 0.3)
                first_response = created + rng.uniform(2, 40) * 3600 if answered else None
                if first_response is not None and first_response > now:
                    first_response = now - 60
                closed = created + rng.uniform(2, 9) * 86400 if state in ("closed", "dismissed") else None
                press_due = created + 48 * 3600 if e.grade in ("I", "II") else None
                title = pool[e.first_text][0] or pool[e.first_text][1][:60]
                cp.write(line(tid, escape(title[:500]), "请核实处置", e.id, e.grade, e.topic, state,
                              None if state == "triage" else unit, None if state == "triage" else handler,
                              None if state == "triage" else handler, 3, ts(created), ts(closed or created + 3600),
                              ts(assigned), ts(first_response), ts(closed), ts(created + 5 * 3600),
                              ts(created + 24 * 3600), ts(created + 7 * 86400), "网上热度下降" if answered else "",
                              "已到现场核实" if assigned else "", "非本辖区" if state == "dismissed" else "",
                              2 if answered else None, ts(first_response - 600) if first_response else None,
                              3 if answered else None, ts(first_response - 1200) if first_response else None,
                              bool(answered), ts(press_due), 5, ts(created), "", 0, 0, 0, False, ts(created),
                              "", None))
                timeline.append((tid, created, "open", "", "triage", ""))
                if assigned:
                    timeline.append((tid, assigned, "assign", "triage", "assigned", f"交办单位{unit}"))
                    timeline.append((tid, assigned + 1800, "transition", "assigned", "handling", "已受理"))
                if first_response:
                    timeline.append((tid, first_response, "respond", "handling", "responded", "已回应"))
                    for k in range(rng.choice((1, 1, 2))):
                        ch = rng.choice(RESPONSE_CHANNELS)
                        kind = "interpretation" if ch == "policy_doc" or rng.random() < 0.1 else "response"
                        responses.append((tid, ch, kind, first_response + k * 86400, e.grade in ("I", "II")))
                if closed:
                    timeline.append((tid, closed, "close" if state == "closed" else "dismiss", "responded",
                                     state, "办结"))
                if rng.random() < 0.3:
                    assisting.append((tid, rng.choice([u[0] for u in units if u[0] != unit]), created))
        with cur.copy("COPY ticket_timeline (ticket_id, at, actor_id, action, from_state, to_state, note, changes)"
                      " FROM STDIN") as cp:
            for tid, at, action, fr, to, note in timeline:
                changes = jsn({"state": [fr, to]}) if fr else "{}"
                cp.write(line(tid, ts(min(at, now)), 3, action, fr, to, note, changes))
        with cur.copy("COPY response (ticket_id, channel, kind, url, title, summary, published_at, approved_by_id,"
                      " approved_at, created_by_id, created_at, leader_present) FROM STDIN") as cp:
            for tid, ch, kind, at, leader in responses:
                at = min(at, now - 30)
                cp.write(line(tid, ch, kind, f"https://www.example.gov.cn/hf/{tid}", f"关于工单{tid}的情况通报",
                              "经核实，已责成相关单位处置，现已整改完毕。", ts(at), 2, ts(at - 300), 3, ts(at), leader))
        with cur.copy("COPY ticket_unit (ticket_id, unit_id, role, created_at) FROM STDIN") as cp:
            for tid, uid, at in assisting:
                cp.write(line(tid, uid, "assist", ts(at)))
        for table in ("unit", "app_user", "source", "event", "mention", "alert", "ticket", "ticket_timeline",
                      "response", "ticket_unit"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT coalesce(max(id), 1) FROM {table}))")
    conn.commit()
    return {"mentions": len(rows), "events": len(events), "alerts": len(graded), "tickets": len(ticketed),
            "timeline": len(timeline), "responses": len(responses)}


def sizes(conn: psycopg.Connection[Any]) -> list[tuple[str, int, int, int]]:
    """(table, heap+toast bytes, index bytes, total) of every table, largest first."""
    rows = conn.execute(
        "SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid), pg_total_relation_size(c.oid)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 4 DESC").fetchall()
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


@dataclass
class Case:
    name: str
    urls: Callable[[int], str]  # request number -> path and query
    count: int


def run_cases(client: httpx.Client, cases: list[Case]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for case in cases:
        for k in range(3):  # warm: connection, plans, caches
            client.get(case.urls(k)).raise_for_status()
        times = []
        for k in range(case.count):
            url = case.urls(k)
            start = time.perf_counter()
            response = client.get(url)
            body = response.content
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code} {body[:300]!r}")
            times.append(elapsed)
        out[case.name] = times
        print(f"{case.name:<34} n={len(times):<4} p50 {statistics.median(times):8.1f}  "
              f"p95 {percentile(times, 0.95):8.1f}  p99 {percentile(times, 0.99):8.1f} ms", flush=True)
    return out


def queue_url(queue: str) -> Callable[[int], str]:
    return lambda _k: f"/api/tickets?queue={queue}&limit=21"  # the page of 20 (+1: is there more)


def cases_for(conn: psycopg.Connection[Any], n: int, count: int, ledger_count: int,
              now: datetime) -> list[Case]:
    from core.mentions.search import encode_cursor

    total = conn.execute("SELECT count(*) FROM mention").fetchone()[0]  # type: ignore[index]
    cursors = []
    for frac in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95):
        row = conn.execute("SELECT seen_at, id FROM mention ORDER BY seen_at DESC, id DESC OFFSET %s LIMIT 1",
                           (int(total * frac),)).fetchone()
        assert row is not None
        cursors.append(encode_cursor(row[0], row[1]))
    this_year = now.astimezone().year
    ledger_year = this_year - 1

    def day_range(k: int) -> str:
        day = now - timedelta(days=1 + (k * 37) % 600)
        width = (1, 7, 30)[k % 3]
        since = (day - timedelta(days=width)).strftime("%Y-%m-%dT%H:%M:%S%%2B00:00")
        return f"since={since}&until={day.strftime('%Y-%m-%dT%H:%M:%S%%2B00:00')}"

    grades = ["I", "II", "III", "IV"]
    queues = ["all", "mine", "unit", "due_soon", "overdue", "closed"]
    return [
        Case("dashboard summary 30 days", lambda k: "/api/dashboard/summary?days=30", count),
        Case("dashboard summary 365 days", lambda k: "/api/dashboard/summary?days=365", count),
        Case("annual report", lambda k: f"/api/reports/annual?year={this_year - k % 2}", count),
        Case("mention search first page", lambda k: "/api/mentions/search?limit=50", count),
        Case("mention search deep page", lambda k: f"/api/mentions/search?limit=50&cursor={cursors[k % 6]}",
             count),
        Case("mention search by topic", lambda k: f"/api/mentions/search?limit=50&topic={TOPICS[k % 11]}", count),
        Case("mention search by keyword", lambda k: f"/api/mentions/search?limit=50&q={KEYWORDS[k % 10]}", count),
        Case("mention search by time range", lambda k: f"/api/mentions/search?limit=50&{day_range(k)}", count),
        Case("events by grade", lambda k: f"/api/events?grade={grades[k % 4]}&limit=50", count),
        Case("events by topic", lambda k: f"/api/events?topic={TOPICS[k % 12]}&limit=50", count),
        *[Case(f"tickets queue {q}", queue_url(q), count) for q in queues],
        Case("tickets queue review (leader)", lambda k: "/api/tickets?queue=review&limit=100", count),
        Case("ledger year json", lambda k: f"/api/ledger?year={ledger_year}", ledger_count),
        Case("ledger year xlsx", lambda k: f"/api/ledger?year={ledger_year}&format=xlsx", ledger_count),
    ]


def server_rss(base: str) -> float:
    """Resident memory of the uvicorn process serving `base`, in MB."""
    port = base.rsplit(":", 1)[1]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if b"uvicorn" in cmdline and port.encode() in cmdline:
                for entry in (proc / "status").read_text().splitlines():
                    if entry.startswith("VmRSS:"):
                        return int(entry.split()[1]) / 1024
        except OSError:
            continue
    return 0.0


@contextmanager
def serve(url: str, var: str) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "YUQING_DATABASE_URL": url, "YUQING_SECRET_KEY": "scale-bench-secret-key-0123456789abcdef",
           "YUQING_VAR_DIR": var, "YUQING_REDIS_URL": ""}
    log = open(Path(var) / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port",
                             str(port), "--log-level", "warning"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit((Path(var) / "server.log").read_text(errors="replace")[-3000:])
            try:
                if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.1)  # polling the server coming up, bounded by the deadline
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--ledger-requests", type=int, default=None, help="for the ledger (default: --requests)")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the PostgreSQL server to connect to for CREATE/DROP DATABASE")
    parser.add_argument("--keep", action="store_true", help="leave the database (its name is printed)")
    parser.add_argument("--reuse", metavar="DBNAME", help="skip the load: serve an existing (kept) database")
    parser.add_argument("--load-only", action="store_true", help="load, measure the sizes and stop (implies --keep)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--name", help="name of the database to create (default: yuqing_scale_<pid>)")
    parser.add_argument("--keyword-index", choices=("load", "after", "skip"), default="load",
                        help="the mention keyword index (GIN over character grams): kept while COPY loads "
                             "(load: ~49 min at 1M), built after the load (after), or dropped (skip: the "
                             "keyword search case is left out)")
    parser.add_argument("--only", action="append", default=[],
                        help="measure only the cases whose name contains this (repeatable)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    name = args.reuse or args.name or f"yuqing_scale_{os.getpid()}"
    base_url = args.server.rsplit("/", 1)[0]
    url = f"{base_url}/{name}"
    admin = psycopg.connect(args.server, autocommit=True)
    if not args.reuse:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as var:
            os.environ["YUQING_VAR_DIR"] = var
            from core import migrate

            # The per-database part of docker-compose.yml's production settings (shared_buffers and
            # the like need a server restart: this shared server keeps its own).
            for setting, value in DATABASE_SETTINGS.items():
                admin.execute(f'ALTER DATABASE "{name}" SET {setting} = {value}')
            started = time.perf_counter()
            migrate.upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
            print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
            if not args.reuse:
                from core.mentions.search_index import GRAMS_INDEX, POSTGRES_UP

                build_keyword = [s for s in POSTGRES_UP if GRAMS_INDEX in s and "CREATE INDEX" in s]
                if args.keyword_index != "load":
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute(f"DROP INDEX {GRAMS_INDEX}")
                started = time.perf_counter()
                with psycopg.connect(url) as conn:
                    made = load(conn, args.mentions, rng, now)
                loaded = time.perf_counter() - started
                print(f"loaded {made} in {loaded:.1f} s (COPY)", flush=True)
                with psycopg.connect(url) as conn:  # COPY bypasses the writers that keep mention_day
                    if conn.execute("SELECT to_regclass('mention_day')").fetchone()[0]:  # type: ignore[index]
                        from core.mentions.rollup import BACKFILL_SQL

                        started = time.perf_counter()
                        conn.execute("DELETE FROM mention_day")
                        conn.execute(BACKFILL_SQL["postgresql"])  # type: ignore[arg-type]
                        print(f"per-day counts (mention_day) back-filled in {time.perf_counter() - started:.1f} s",
                              flush=True)
                if args.keyword_index == "after":
                    started = time.perf_counter()
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute("SET maintenance_work_mem = '256MB'")
                        for statement in build_keyword:
                            conn.execute(statement)  # type: ignore[arg-type]
                    print(f"keyword index built after the load in {time.perf_counter() - started:.1f} s",
                          flush=True)
                started = time.perf_counter()
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("VACUUM ANALYZE")
                print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)
            with psycopg.connect(url, autocommit=True) as conn:
                measured = sizes(conn)
                db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
                print(f"{'table':<24}{'data MB':>10}{'index MB':>10}{'total MB':>10}")
                for table, data, index, total in measured[:10]:
                    print(f"{table:<24}{data / 2**20:>10.1f}{index / 2**20:>10.1f}{total / 2**20:>10.1f}")
                print(f"database {db_bytes / 2**20:.0f} MB on disk", flush=True)
                if args.load_only:
                    args.keep = True
                    return
                cases = cases_for(conn, args.mentions, args.requests,
                                  args.ledger_requests if args.ledger_requests is not None else args.requests, now)
                if not conn.execute("SELECT to_regclass(%s)", (GRAMS_INDEX_NAME,)).fetchone()[0]:  # type: ignore[index]
                    print("no keyword index: mention search by keyword left out", flush=True)
                    cases = [c for c in cases if c.name != "mention search by keyword"]
                if args.only:
                    cases = [c for c in cases if any(part in c.name for part in args.only)]
            with serve(url, var) as base, httpx.Client(base_url=base, timeout=120) as client:
                token = client.post("/api/auth/token", data={"username": "admin", "password": PASSWORD})
                token.raise_for_status()
                client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
                print(f"load average before the requests: {os.getloadavg()[0]:.1f} (2 cores)", flush=True)
                results = run_cases(client, cases)
                print(f"load average after: {os.getloadavg()[0]:.1f}; api process RSS {server_rss(base):.0f} MB")
        ledger = max((percentile(v, 0.95) for k, v in results.items() if k.startswith("ledger")), default=0.0)
        worst_name, worst = max(((k, percentile(v, 0.95)) for k, v in results.items()
                                 if not k.startswith("ledger")), key=lambda kv: kv[1], default=("none", 0.0))
        print(f"({'database ' + args.reuse if args.reuse else f'{args.mentions} mentions'}; worst: {worst_name})")
        print(f"worst p95 {worst:.0f} ms; ledger year {ledger:.0f} ms")
    finally:
        if args.keep or args.reuse:
            print(f"kept database {name}")
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
