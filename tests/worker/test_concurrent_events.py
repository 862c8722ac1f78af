"""A real worker with two processes on PostgreSQL: every event's counters equal a recount of its mentions."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.config import Settings
from core.db import get_engine
from core.events.models import Event
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from tests.realstack import wait_for, yuqing_worker

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

# Three stories; every copy of one is a near-duplicate, so all mentions pile into a few events and the
# two worker processes keep updating the same rows at the same time.
STORIES = (
    "站前街道永安小区门口乱停车严重，消防通道被堵，居民出行困难，希望城管尽快处理",
    "新抚区站前街道幸福小区暖气不热，室温只有十二度，老人孩子受冻，供热公司不接电话",
)
MENTIONS = 600
CONCURRENCY = 4


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_concurrent_workers_keep_every_events_counters_true(redis_stack: Settings, tmp_path: Path) -> None:
    from worker.dispatch import enqueue_mentions

    with Session(get_engine()) as s:
        ids = []
        for n in range(MENTIONS):
            story = STORIES[n % len(STORIES)]
            stored = mentions.ingest(session=s, mention_in=MentionCreate(
                channel="weibo", external_id=f"race-{n}", text=story, likes=n % 7, reposts=n % 3,
                comments=1))
            ids.append(stored.mention.id)
        s.commit()
    # The whole backlog is queued before the worker starts, so both processes race from the first task.
    enqueue_mentions(i for i in ids if i is not None)
    # And every mention once more in batches that overlap those (a redelivery, a sweep): each is
    # still claimed by one batch only.
    from worker.tasks import process_batch

    for start in range(25, MENTIONS, 50):
        process_batch.delay(ids[start:start + 50])
    worker = yuqing_worker(tmp_path, concurrency=CONCURRENCY)
    try:
        def done() -> bool:
            assert worker.alive(), worker.log()
            with Session(get_engine()) as s:
                return s.exec(select(func.count()).select_from(Mention)
                              .where(col(Mention.event_id).is_(None))).one() == 0

        wait_for(done, timeout=240, interval=0.5, what="all mentions processed")
    finally:
        worker.stop()

    with Session(get_engine()) as s:
        truth = {row[0]: row[1:] for row in s.execute(
            sa.select(Mention.event_id, func.count(),
                      func.sum(sa.case((col(Mention.sentiment) == "negative", 1), else_=0)),
                      func.sum(Mention.likes + Mention.reposts + Mention.comments))
            .group_by(col(Mention.event_id)))}
        events = {e.id: (e.mention_count, e.negative_count, e.engagement) for e in s.exec(select(Event))}
    recount = {event_id: (int(n), int(neg), int(eng)) for event_id, (n, neg, eng) in truth.items()}
    wrong = {k: (events.get(k), recount[k]) for k in recount if events.get(k) != recount[k]}
    assert sum(n for n, _, _ in recount.values()) == MENTIONS
    assert not wrong, f"events whose counters disagree with their mentions (stored, recount): {wrong}"
    print(f"\n{MENTIONS} mentions in {len(events)} events, counters all equal to the recount")
