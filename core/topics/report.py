"""专报: one 专题 as a Word document (python-docx), charts drawn by core.reports.charts.

The figures table carries exactly the page's figures (TrackOverview.figures), so the paper and
the screen cannot disagree.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from sqlmodel import Session

from core.access import Scope
from core.config import get_settings
from core.reports import charts
from core.reports.documents import _chinese_font, _table
from core.timeutil import to_local
from core.topics import views
from core.topics.views import TrackOverview

TOP_EVENTS = 5
OPINION_PLACEHOLDER = "（值班员在此填写研判意见：态势判断、风险点、处置建议，报送前删去本行提示）"


def _when(value: datetime | None) -> str:
    """A full Beijing date and time: a 专报 spans months, often across a new year."""
    return f"{to_local(value):%Y年%m月%d日 %H:%M}" if value else ""


def _period(o: TrackOverview) -> str:
    end = f"{o.track.ends_on:%Y年%m月%d日}" if o.track.ends_on else f"{o.until:%Y年%m月%d日}（持续关注中）"
    return f"{o.track.starts_on:%Y年%m月%d日}至{end}"


def rules_text(o: TrackOverview) -> str:
    t = o.track
    parts = []
    if t.all_words:
        parts.append("同时包含：" + "、".join(t.all_words))
    if t.any_words:
        parts.append("包含任一：" + "、".join(t.any_words))
    if t.none_words:
        parts.append("排除：" + "、".join(t.none_words))
    if t.places:
        parts.append("地点：" + "、".join(t.places))
    return "；".join(parts)


def summary_text(o: TrackOverview) -> str:
    """The opening paragraph: the figures in a sentence, the main channel and place."""
    f = {x.key: x.value for x in o.figures}
    text = (f"{_period(o)}，共监测到与“{o.track.name}”相关的信息{f['mentions']}条，其中负面信息{f['negative']}条；"
            f"涉及舆情事件{f['events']}件（较大及以上{f['serious_events']}件），开具工单{f['tickets']}件"
            f"（在办{f['open_tickets']}件），公开回应{f['responses']}次。")
    if o.channels:
        text += f"信息主要来自{'、'.join(c.label for c in o.channels[:3])}"
        text += f"，集中在{'、'.join(p.label for p in o.places[:3])}等地。" if o.places else "。"
    return text


def trend_buckets(o: TrackOverview) -> tuple[str, list[str], list[int], list[int]]:
    """The trend cut to fit a page: days up to two months, then weeks (from Monday) up to a year, then months."""
    days = o.trend
    if len(days) <= 62:
        return "每日", [f"{p.date.month}/{p.date.day}" for p in days], [p.mentions for p in days], \
            [p.negative for p in days]
    monthly = len(days) > 366
    buckets: dict[date, list[int]] = {}
    for p in days:
        key = p.date.replace(day=1) if monthly else p.date - timedelta(days=p.date.weekday())
        total = buckets.setdefault(key, [0, 0])
        total[0] += p.mentions
        total[1] += p.negative
    keys = sorted(buckets)
    # months: the year on the first and on each January only, so the labels stay short
    labels = [(f"{k.year}年{k.month}月" if i == 0 or k.month == 1 else f"{k.month}月") if monthly
              else f"{k.month}/{k.day}" for i, k in enumerate(keys)]
    return ("每月" if monthly else "每周"), labels, [buckets[k][0] for k in keys], [buckets[k][1] for k in keys]


def trend_png(o: TrackOverview) -> bytes:
    """信息量走势 with whole-number ticks (drawn with core.reports.charts' CJK figure)."""
    from matplotlib.ticker import MaxNLocator

    unit, labels, total, negative = trend_buckets(o)
    fig, ax = charts._figure()
    # Positions, not category labels: matplotlib would merge equal labels (3月 of two years) into one.
    xs = list(range(len(labels)))
    ax.plot(xs, total, marker="o", markersize=3, label="信息量", color="#1f6fb2")  # type: ignore[attr-defined]
    ax.plot(xs, negative, marker="o", markersize=3, label="负面", color="#c0392b")  # type: ignore[attr-defined]
    ax.set_title(f"信息量走势（{unit}）")  # type: ignore[attr-defined]
    ax.set_ylabel("条")  # type: ignore[attr-defined]
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # type: ignore[attr-defined]
    ax.set_ylim(bottom=0)  # type: ignore[attr-defined]
    ax.legend()  # type: ignore[attr-defined]
    ax.grid(alpha=0.3)  # type: ignore[attr-defined]
    ticks = xs[::max(1, len(xs) // 10)] if len(xs) > 12 else xs
    ax.set_xticks(ticks)  # type: ignore[attr-defined]
    ax.set_xticklabels([labels[i] for i in ticks], rotation=30 if unit == "每月" else 0)  # type: ignore[attr-defined]
    return charts._png(fig)


def track_docx(*, session: Session, overview: TrackOverview, scope: Scope, opinion: str = "") -> bytes:
    """The 专报 of a topic as Word: title, period, summary figures, charts, top events, 研判意见."""
    o = overview
    assert o.track.id is not None
    doc = Document()
    _chinese_font(doc)
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(get_settings().office_name)
    run.bold = True
    run.font.size = Pt(18)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    trun = title.add_run(f"舆情专报：{o.track.name}")
    trun.bold = True
    trun.font.size = Pt(15)
    doc.add_paragraph(f"监测时段：{_period(o)}")
    doc.add_paragraph(f"生成时间：{_when(o.generated_at)}　　监测规则：{rules_text(o) or '—'}")

    doc.add_heading("一、总体情况", level=2)
    doc.add_paragraph(summary_text(o)).paragraph_format.first_line_indent = Pt(24)
    _table(doc, ("指标", "数量"), [[f.label, str(f.value)] for f in o.figures])

    doc.add_heading("二、走势与分布", level=2)
    doc.add_picture(io.BytesIO(trend_png(o)), width=Cm(15))
    for items, name, color in ((o.sentiment, "情感倾向（条）", "#8e44ad"), (o.channels, "渠道分布（条）", "#16a085"),
                               (o.places, "涉及地点（条）", "#1f6fb2")):
        if items:
            top = items[:10]
            doc.add_picture(io.BytesIO(charts.bar_chart(name, [i.label for i in top], [i.count for i in top],
                                                        color)), width=Cm(15))
        else:
            doc.add_paragraph(f"{name}：暂无数据。")

    doc.add_heading("三、重点事件与处置情况", level=2)
    if not o.events:
        doc.add_paragraph("本专题暂无相关舆情事件。")
    for n, e in enumerate(o.events[:TOP_EVENTS], start=1):
        grade = f"{e.grade}级（{e.grade_label}）" if e.grade else "未分级"
        p = doc.add_paragraph()
        p.add_run(f"{n}. {e.title}").bold = True
        doc.add_paragraph(f"等级：{grade}；话题：{e.topic_label}；本专题相关信息{e.tagged}条（事件共{e.mention_count}条），"
                          f"互动{e.engagement}次；首次发现：{_when(e.first_seen_at) or '—'}。"
                          f"研判理由：{e.grade_reason or '—'}")
        for post in views.event_posts(session=session, track_id=o.track.id, scope=scope, event_id=e.id):
            doc.add_paragraph(f"{post.channel_label} {post.author}：{post.title or post.snippet[:80]}",
                              style="List Bullet")
        done = f"处置情况：工单{e.ticket_state_label}" if e.ticket_id else "处置情况：尚未开单"
        if e.ticket_id:
            responses = views.event_responses(session=session, ticket_id=e.ticket_id)
            if responses:
                done += "；已回应：" + "；".join(f"{r['channel']}《{r['title']}》（{_when(r['published_at'])}）"
                                             for r in responses)
        doc.add_paragraph(done)

    doc.add_heading("四、工单办理情况", level=2)
    if o.tickets:
        _table(doc, ("工单", "事项", "等级", "责任单位", "状态", "回应次数"),
               [[str(t.id), t.title, t.grade or "—", t.unit_name, t.state_label, str(t.responses)]
                for t in o.tickets])
    else:
        doc.add_paragraph("暂无工单。")

    doc.add_heading("五、研判意见", level=2)
    box = doc.add_table(rows=1, cols=1)
    box.style = "Table Grid"
    cell = box.rows[0].cells[0]
    cell.text = opinion or OPINION_PLACEHOLDER
    for _ in range(4 if not opinion else 1):  # room to write in, as on a printed form
        cell.add_paragraph("")
    doc.add_paragraph("审核：　　　　　　　签发：　　　　　　　报送：")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def file_name(o: TrackOverview) -> str:
    return f"yuqing-track-{o.track.id}-{o.generated_at:%Y%m%d}.docx"
