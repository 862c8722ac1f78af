import pytest
from sqlmodel import Session, select

from core.errors import InvalidInput
from core.mentions import service as mentions
from core.mentions.models import Mention, MentionCreate
from core.sources import service as sources
from core.sources.models import SourceCreate


def test_it_treats_share_links_of_one_wechat_article_as_the_same_url() -> None:
    a = "http://mp.weixin.qq.com/s?__biz=MzAxMzgxNzUxOA==&mid=2650804290&idx=1&sn=abc&chksm=x&scene=21#wechat_redirect"
    b = "https://mp.weixin.qq.com/s?sn=abc&idx=1&mid=2650804290&__biz=MzAxMzgxNzUxOA==&from=timeline"
    assert mentions.canonical_url(a) == mentions.canonical_url(b)
    assert mentions.url_fingerprint(a) == mentions.url_fingerprint(b)


def test_it_drops_tracking_parameters_but_keeps_identifying_ones() -> None:
    url = "https://Example.gov.cn:443/news/1.html/?utm_source=wx&id=7&spm=a.b"
    assert mentions.canonical_url(url) == "https://example.gov.cn/news/1.html?id=7"
    assert mentions.url_fingerprint("") is None


def test_it_stores_a_mention_once_per_source_and_external_id(session: Session) -> None:
    source = sources.create(session=session, source_in=SourceCreate(name="测试源", url="http://127.0.0.1/feed"))
    item = MentionCreate(source_id=source.id, external_id="wx-1", title="永安小区乱停车", text="消防通道被堵",
                         url="http://127.0.0.1/a/1.html", raw="<item/>")
    first = mentions.ingest(session=session, mention_in=item)
    second = mentions.ingest(session=session, mention_in=item)
    # The same page reached through another source or share link is the same mention too.
    other = sources.create(session=session, source_in=SourceCreate(name="另一个源", url="http://127.0.0.1/b"))
    third = mentions.ingest(session=session, mention_in=item.model_copy(
        update={"source_id": other.id, "external_id": "x", "url": "http://127.0.0.1/a/1.html?utm_medium=x"}))
    session.commit()
    assert first.created and not second.created and not third.created
    assert len(session.exec(select(Mention)).all()) == 1
    assert first.mention.raw_sha256 and first.mention.analyzed_at is None


def test_two_posts_of_one_source_without_urls_are_two_mentions(session: Session) -> None:
    source = sources.create(session=session, source_in=SourceCreate(name="12345导出", url="http://127.0.0.1/x"))
    first = mentions.ingest(session=session, mention_in=MentionCreate(
        source_id=source.id, external_id="a-1", text="南阳路积雪未清"))
    second = mentions.ingest(session=session, mention_in=MentionCreate(
        source_id=source.id, external_id="a-2", text="永安小区停车难"))
    again = mentions.ingest(session=session, mention_in=MentionCreate(
        source_id=source.id, external_id="a-1", text="南阳路积雪未清（重发）"))
    session.commit()
    assert first.created and second.created and not again.created
    assert again.mention.id == first.mention.id != second.mention.id


def test_a_relabel_records_what_the_analysis_said_before(session: Session) -> None:
    from core.audit.models import AuditLog

    stored = mentions.ingest(session=session, mention_in=MentionCreate(external_id="r-1", text="暖气不热"))
    stored.mention.topics = ["heating", "property"]
    session.flush()
    assert stored.mention.id is not None
    mentions.relabel(session=session, mention_id=stored.mention.id, topic="utilities", actor_id=None)
    mentions.relabel(session=session, mention_id=stored.mention.id, topic="property", actor_id=None)
    rows = session.exec(select(AuditLog).where(AuditLog.entity == "mention")
                        .order_by(AuditLog.id)).all()  # type: ignore[arg-type]
    assert [(r.action, r.before, r.after) for r in rows] == [
        ("relabel", {"topic": "heating"}, {"topic": "utilities"}),
        ("relabel", {"topic": "utilities"}, {"topic": "property"})]


def test_it_refuses_an_empty_mention_with_a_clear_error(session: Session) -> None:
    with pytest.raises(InvalidInput, match="不能都为空"):
        mentions.ingest(session=session, mention_in=MentionCreate(external_id="e1", title=" ", text=""))


def test_the_database_refuses_a_second_sourceless_entry_with_the_same_id(session: Session) -> None:
    # Hotline, manual and imported entries have no source row: the unique key must still hold.
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError

    session.add(Mention(external_id="12345-0001", channel="hotline", title="永安小区停车"))
    session.commit()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Mention(external_id="12345-0001", channel="hotline", title="永安小区停车"))
    session.rollback()
    # Other ids, and the same id under a real source, are still welcome.
    source = sources.create(session=session, source_in=SourceCreate(name="热线源", url="http://127.0.0.1/f"))
    session.add(Mention(external_id="12345-0002", channel="hotline", title="b"))
    session.add(Mention(external_id="12345-0001", channel="news", title="c", source_id=source.id))
    session.commit()
    assert session.execute(sa.select(sa.func.count()).select_from(Mention)).scalar_one() == 3


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite serializes writers
def test_two_concurrent_hotline_entries_with_one_id_are_stored_once(app_env: object) -> None:
    """Two api workers record the same 12345 call at once: one row, both get it back."""
    import threading

    import sqlalchemy as sa

    from core.db import get_engine

    engine = get_engine()
    item = MentionCreate(channel="hotline", external_id="12345-20251002-0007", title="永安小区消防通道被堵",
                         text="车辆长期占用消防通道", contact="13800000000")
    start = threading.Barrier(2, timeout=30)
    first_inserted, second_done = threading.Event(), threading.Event()
    results: dict[str, tuple[int | None, bool]] = {}
    errors: list[BaseException] = []

    def second_is_waiting_or_done() -> bool:
        if second_done.is_set():
            return True
        with engine.connect() as conn:  # the second insert waits on the first one's row lock
            return bool(conn.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one())

    def first() -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                start.wait()
                result = mentions.ingest(session=s, mention_in=item)
                s.flush()
                first_inserted.set()
                bound = threading.Event()
                for _ in range(600):  # commit only once the other has checked and tried to insert
                    if second_is_waiting_or_done():
                        break
                    bound.wait(0.05)
                s.commit()
                results["first"] = (result.mention.id, result.created)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            first_inserted.set()

    def second() -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                start.wait()
                assert first_inserted.wait(30)
                result = mentions.ingest(session=s, mention_in=item)
                second_done.set()
                s.commit()
                results["second"] = (result.mention.id, result.created)
        except BaseException as exc:
            errors.append(exc)
            second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with Session(engine) as s:
        rows = s.exec(select(Mention).where(Mention.external_id == item.external_id)).all()
    assert len(rows) == 1
    assert results["first"] == (rows[0].id, True)
    assert results["second"] == (rows[0].id, False)
