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


def test_it_refuses_an_empty_mention_with_a_clear_error(session: Session) -> None:
    with pytest.raises(InvalidInput, match="不能都为空"):
        mentions.ingest(session=session, mention_in=MentionCreate(external_id="e1", title=" ", text=""))
