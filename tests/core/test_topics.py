"""专题: rules, tagging the stored history after the fact, new mentions, edits, the range."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

import opencc
import pytest
from sqlmodel import Session, col, func, select

from core.access import OFFICE
from core.errors import Conflict, InvalidInput
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from core.processing import service as processing
from core.timeutil import SHANGHAI, ensure_utc
from core.topics import service as topics
from core.topics.models import MentionTrack, TrackIn, TrackUpdate
from core.topics.rules import Rules, fold

# ---------------------------------------------------------------- a reference search, written apart
_T2S = opencc.OpenCC("t2s")


def ref_fold(text: str) -> str:
    # NFKC folds full-width forms; opencc converts the whole text; spaces collapse.
    return re.sub(r"\s+", " ", _T2S.convert(unicodedata.normalize("NFKC", text))).lower().strip()


def ref_search(rows: list[Mention], rule: dict[str, Any]) -> set[int]:
    """The same rules, done in plain Python over the rows, without core.topics."""
    since = datetime(rule["starts_on"].year, rule["starts_on"].month, rule["starts_on"].day, tzinfo=SHANGHAI)
    end = rule.get("ends_on")
    until = (datetime(end.year, end.month, end.day, tzinfo=SHANGHAI) + timedelta(days=1)) if end else None
    out = set()
    for m in rows:
        if m.seen_at is None:
            continue
        seen = ensure_utc(m.seen_at)
        if seen < since or (until is not None and seen >= until):
            continue
        if rule.get("places") and not set(rule["places"]) & set(m.places or []):
            continue
        text = ref_fold(f"{m.title} {m.text}")
        words = {k: [ref_fold(w) for w in rule.get(k, [])] for k in ("all_words", "any_words", "none_words")}
        if not all(w in text for w in words["all_words"]):
            continue
        if words["any_words"] and not any(w in text for w in words["any_words"]):
            continue
        if any(w in text for w in words["none_words"]):
            continue
        assert m.id is not None
        out.add(m.id)
    return out


def tagged(session: Session, track_id: int) -> set[int]:
    return set(session.exec(select(MentionTrack.mention_id).where(MentionTrack.track_id == track_id)).all())


def store(session: Session, ext: str, text: str, *, title: str = "", at: datetime | None = None,
          places: list[str] | None = None, sentiment: str = "neutral") -> Mention:
    m = mentions.ingest(session=session, mention_in=MentionCreate(
        channel="weibo", external_id=ext, title=title, text=text, published_at=at)).mention
    m.places, m.sentiment = places or [], sentiment
    session.add(m)
    session.flush()
    return m


def local(y: int, mo: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


# ---------------------------------------------------------------- rules, no database
def test_rules_all_any_none() -> None:
    r = Rules(all_words=("南站", "动迁"), any_words=("补偿", "安置"), none_words=("招聘",))
    assert r.matches_text(fold("南站片区动迁补偿标准何时公布"))
    assert not r.matches_text(fold("南站片区动迁进度"))  # no any-word
    assert not r.matches_text(fold("南站片区安置房"))  # misses 动迁
    assert not r.matches_text(fold("南站动迁安置公司招聘"))  # a none-word
    assert Rules(all_words=("南站",)).matches_text(fold("南站"))  # empty any: asks nothing
    assert Rules(any_words=("供暖", "暖气")).matches_text(fold("暖气不热"))
    assert not Rules(any_words=("供暖",), none_words=("供暖",)).matches_text(fold("供暖"))  # none wins


def test_rules_fold_traditional_full_width_case_and_spaces() -> None:
    r = Rules(all_words=tuple(w for w in (fold("南站動遷"), fold("ＷｉＦｉ")) if w))
    assert r.all_words == ("南站动迁", "wifi")
    assert r.matches_text(fold("南站動遷 小區 WIFI 信號差"))
    assert r.matches_text(fold("南站动迁，ｗｉｆｉ"))
    assert fold("  供暖\t\n 不热 ") == "供暖 不热"


def test_rules_places_and_range_on_beijing_days() -> None:
    r = Rules(all_words=("供暖",), places=frozenset({"粮栈社区"}), starts_on=date(2025, 11, 1),
              ends_on=date(2025, 11, 30))
    inside = local(2025, 11, 1, 0, 0)  # Beijing midnight: 2025-10-31 16:00 UTC
    assert r.matches(title="", text="供暖不热", places=["粮栈社区"], seen_at=inside)
    assert not r.matches(title="", text="供暖不热", places=["粮栈社区"], seen_at=inside - timedelta(seconds=1))
    assert r.matches(title="", text="供暖不热", places=["粮栈社区", "抚顺市"], seen_at=local(2025, 11, 30, 23, 59))
    assert not r.matches(title="", text="供暖不热", places=["粮栈社区"], seen_at=local(2025, 12, 1, 0, 0))
    assert not r.matches(title="", text="供暖不热", places=["站前社区"], seen_at=inside)
    assert not r.matches(title="", text="供暖不热", places=[], seen_at=inside)
    assert not r.matches(title="", text="供暖不热", places=["粮栈社区"], seen_at=None)
    assert Rules(all_words=("供暖",), starts_on=date(2025, 11, 1)).matches(
        title="供暖", text="", places=None, seen_at=local(2030, 1, 1))  # open end


# ---------------------------------------------------------------- with a database
VOCAB = ["南站", "動遷", "动迁", "补偿", "補償", "安置", "招聘", "供暖", "ＷｉＦｉ", "停车", "积水", "拆迁", "签约"]
PLACES = ["站前街道", "粮栈社区", "南站社区", "站前棚户区"]


def _random_history(session: Session, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    base = local(2025, 10, 25)
    for i in range(n):
        words = rng.sample(VOCAB, rng.randint(0, 4))
        # several mentions share one moment: keyset batches must not skip or repeat ties
        at = base + timedelta(hours=rng.randint(0, 24 * 50) // 3 * 3)
        store(session, f"h{i}", "，".join(words) + "。居民反映情况", title=rng.choice(["", "南站片区", "求助"]),
              at=None if i % 97 == 0 else at, places=rng.sample(PLACES, rng.randint(0, 2)))
    session.commit()


RULE = {"name": "南站片区动迁", "all_words": ["南站"], "any_words": ["动迁", "补偿", "拆迁"],
        "none_words": ["招聘"], "starts_on": date(2025, 11, 1), "ends_on": date(2025, 11, 30)}


def test_a_topic_defined_after_the_fact_tags_what_a_search_with_the_same_rules_finds(session: Session) -> None:
    _random_history(session, 240)
    rows = list(session.exec(select(Mention)).all())
    want = ref_search(rows, RULE)
    assert 15 < len(want) < 200  # the data exercise both outcomes
    track = topics.create(session=session, track_in=TrackIn(**RULE), actor_id=None)
    session.commit()
    assert track.id is not None
    assert tagged(session, track.id) == want
    assert topics.count(session=session, track_id=track.id, scope=OFFICE) == len(want)
    # the same in small batches: ties on seen_at across batch borders are neither lost nor repeated
    session.execute(MentionTrack.__table__.delete())  # type: ignore[attr-defined]
    result = topics.retag(session=session, track=track, batch=7)
    session.commit()
    assert tagged(session, track.id) == want and result.added == len(want)
    assert result.scanned == session.exec(select(func.count()).select_from(Mention).where(
        col(Mention.seen_at) >= local(2025, 11, 1, 0, 0), col(Mention.seen_at) < local(2025, 12, 1, 0, 0))).one()


def test_places_and_an_open_range(session: Session) -> None:
    _random_history(session, 150, seed=3)
    rule = {"name": "供暖季", "any_words": ["供暖", "wifi"], "places": ["粮栈社区", "南站社区"],
            "starts_on": date(2025, 11, 10)}
    track = topics.create(session=session, track_in=TrackIn(**rule), actor_id=None)
    session.commit()
    assert track.id is not None
    want = ref_search(list(session.exec(select(Mention)).all()), rule)
    assert want and tagged(session, track.id) == want


def test_editing_the_rules_retags_and_removes_links_that_no_longer_match(session: Session) -> None:
    _random_history(session, 200, seed=11)
    track = topics.create(session=session, track_in=TrackIn(**RULE), actor_id=None)
    session.commit()
    assert track.id is not None
    before = tagged(session, track.id)
    edited = {**RULE, "none_words": ["招聘", "补偿"], "ends_on": date(2025, 11, 20)}
    topics.update(session=session, track_id=track.id, actor_id=None,
                  changes=TrackUpdate(none_words=edited["none_words"], ends_on=edited["ends_on"]))
    session.commit()
    after = tagged(session, track.id)
    want = ref_search(list(session.exec(select(Mention)).all()), edited)
    assert after == want and after < before
    # clearing the end date (explicit null) widens it again
    topics.update(session=session, track_id=track.id, actor_id=None, changes=TrackUpdate.model_validate(
        {"ends_on": None}))
    session.commit()
    assert tagged(session, track.id) == ref_search(list(session.exec(select(Mention)).all()),
                                                    {**edited, "ends_on": None})
    topics.delete(session=session, track_id=track.id, actor_id=None)
    session.commit()
    assert session.exec(select(func.count()).select_from(MentionTrack)).one() == 0


FIRE = "站前街道粮栈社区楼道电动车充电起火，浓烟冒到六楼，居民要求物业马上清理楼道、安装充电桩"


def test_a_new_mention_is_tagged_when_processed_and_an_inactive_topic_tags_nothing(session: Session) -> None:
    today = datetime.now(SHANGHAI).date()
    on = topics.create(session=session, actor_id=None, track_in=TrackIn(
        name="电动车充电", any_words=["充电"], places=["粮栈社区"], starts_on=today - timedelta(days=3)))
    off = topics.create(session=session, actor_id=None, track_in=TrackIn(
        name="停用专题", any_words=["充电"], starts_on=today - timedelta(days=3), active=False))
    session.commit()
    assert on.id is not None and off.id is not None
    assert tagged(session, on.id) == set()
    m = store(session, "new-1", FIRE, at=datetime.now(SHANGHAI))
    other = store(session, "new-2", "粮栈社区门口乱停车", at=datetime.now(SHANGHAI))
    m.analyzed_at = other.analyzed_at = None
    session.commit()
    assert m.id is not None and other.id is not None
    for mid in (m.id, other.id):
        assert processing.process_mention(session=session, mention_id=mid).processed
        session.commit()
    session.refresh(m)
    assert "粮栈社区" in m.places  # the analysis found the place the topic asks for
    assert tagged(session, on.id) == {m.id}
    assert tagged(session, off.id) == set()
    # re-activating the topic catches up with the history
    topics.update(session=session, track_id=off.id, changes=TrackUpdate(active=True), actor_id=None)
    session.commit()
    assert tagged(session, off.id) == {m.id}


def test_tag_mentions_is_batch_shaped_and_idempotent(session: Session) -> None:
    day = date(2025, 11, 5)
    track = topics.create(session=session, actor_id=None, track_in=TrackIn(
        name="积水", all_words=["积水"], starts_on=day, ends_on=day))
    batch = [store(session, f"b{i}", text, at=local(2025, 11, 5, 8 + i))
             for i, text in enumerate(["路口積水", "积水严重", "停车难", "积水"])]
    batch.append(store(session, "b-late", "积水", at=local(2025, 11, 6, 0, 0)))
    session.commit()
    assert track.id is not None
    found = topics.tag_mentions(session=session, mentions=batch)
    found_again = topics.tag_mentions(session=session, mentions=batch)
    session.commit()
    ids = [m.id for m in batch]
    assert found == found_again == {ids[0]: [track.id], ids[1]: [track.id], ids[3]: [track.id]}
    assert tagged(session, track.id) == {ids[0], ids[1], ids[3]}
    # a re-analysis that changes the text's match drops the link
    batch[0].text = "路口通畅"
    topics.tag_mentions(session=session, mentions=[batch[0]])
    session.commit()
    assert tagged(session, track.id) == {ids[1], ids[3]}


def test_definitions_are_checked(session: Session) -> None:
    day = date(2025, 11, 1)
    with pytest.raises(InvalidInput):
        topics.create(session=session, track_in=TrackIn(name="空", none_words=["招聘"], starts_on=day), actor_id=None)
    with pytest.raises(InvalidInput):
        topics.create(session=session, track_in=TrackIn(name="空白", any_words=["  ", "　"], starts_on=day),
                      actor_id=None)
    with pytest.raises(InvalidInput, match="地名库"):
        topics.create(session=session, track_in=TrackIn(name="外地", places=["火星小区"], starts_on=day),
                      actor_id=None)
    with pytest.raises(InvalidInput, match="关键词不能超过"):
        topics.create(session=session, track_in=TrackIn(name="长词", any_words=["动" * 31], starts_on=day),
                      actor_id=None)
    with pytest.raises(InvalidInput, match="结束日期"):
        topics.create(session=session, track_in=TrackIn(name="倒序", any_words=["a"], starts_on=day,
                                                          ends_on=day - timedelta(days=1)), actor_id=None)
    topics.create(session=session, track_in=TrackIn(name="供暖", any_words=["供暖"], starts_on=day), actor_id=None)
    with pytest.raises(Conflict):
        topics.create(session=session, track_in=TrackIn(name="供暖", any_words=["暖气"], starts_on=day),
                      actor_id=None)


def test_the_report_trend_fits_long_ranges_into_weeks_or_months(session: Session) -> None:
    from core.topics import report, views

    for i, at in enumerate((local(2025, 3, 3), local(2026, 3, 4), local(2026, 3, 5))):
        store(session, f"long-{i}", "南站动迁", at=at, sentiment="negative" if i else "neutral")
    session.commit()
    now = local(2026, 6, 1)
    track = topics.create(session=session, actor_id=None, track_in=TrackIn(
        name="长期", any_words=["动迁"], starts_on=date(2025, 1, 1), ends_on=date(2026, 5, 31)))
    unit, labels, total, negative = report.trend_buckets(views.overview(
        session=session, track=track, scope=OFFICE, now=now))
    # 17 months, one point each (March of both years apart, drawn on positions), the counts add up
    assert unit == "每月" and len(labels) == 17
    assert labels[0] == "2025年1月" and labels[12] == "2026年1月" and labels[2] == "3月"
    assert (total[2], total[14], sum(total), sum(negative)) == (1, 2, 3, 2)
    topics.update(session=session, track_id=track.id or 0, actor_id=None,
                  changes=TrackUpdate(starts_on=date(2025, 12, 1), ends_on=date(2026, 3, 31)))
    unit, labels, total, _ = report.trend_buckets(views.overview(session=session, track=track, scope=OFFICE, now=now))
    assert unit == "每周" and labels[0] == "12/1" and sum(total) == 2  # weeks from Monday 2025-12-01
