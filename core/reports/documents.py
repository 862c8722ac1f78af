"""Word documents the office hands on (python-docx): the annual 回应解读情况 section."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt


def _chinese_font(doc: Any, name: str = "宋体", heading: str = "黑体") -> None:
    """Word picks the East Asian font from w:eastAsia; without it Chinese falls back to a Latin face.

    The text is also marked Simplified Chinese (python-docx's template says en-US): where 宋体/黑体
    are not installed (LibreOffice making the PDF on Linux) the fallback face is chosen by that
    language, so it is the SC face of Noto CJK and not the collection's Japanese first face.
    """
    style = doc.styles["Normal"]
    style.font.name = name
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), name)
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")
    for heading_style in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        fonts = doc.styles[heading_style].element.get_or_add_rPr().get_or_add_rFonts()
        fonts.set(qn("w:eastAsia"), heading)


def annual_docx(figures: dict[str, Any]) -> bytes:
    """The section as Word: heading, the paragraph, and the table (this year, last year, change)."""
    doc = Document()
    _chinese_font(doc)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(f"{figures['office']}{figures['year']}年政务舆情回应解读情况")
    run.bold = True
    run.font.size = Pt(16)
    doc.add_paragraph(figures["text"]).paragraph_format.first_line_indent = Pt(24)
    table = doc.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    head = table.rows[0].cells
    for cell, text in zip(head, ("回应解读情况", f"{figures['year']}年",
                                 f"{figures['previous_year']}年", "同比增减"), strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for row in figures["rows"]:
        cells = table.add_row().cells
        cells[0].text = row["label"]
        if row["sub"]:  # the 其中 lines sit under their total
            cells[0].paragraphs[0].paragraph_format.left_indent = Pt(24)
        cells[1].text = str(row["value"])
        cells[2].text = str(row["previous"])
        cells[3].text = f"{row['change']:+d}" if row["change"] else "0"
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _when(value: Any) -> str:
    from core.timeutil import to_local

    return f"{to_local(value):%m-%d %H:%M}" if value else ""


def _table(doc: Any, header: tuple[str, ...], rows: list[list[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for values in rows:
        for cell, text in zip(table.add_row().cells, values, strict=True):
            cell.text = text


def briefing_docx(b: dict[str, Any]) -> bytes:
    """舆情日报/周报/月报 as Word: header, key figures with the change, charts, top events, overdue
    matters, silent sources, and the 研判意见 the duty officer fills (or edits) before sending."""
    from docx.shared import Cm

    from core.reports import briefing, charts

    doc = Document()
    _chinese_font(doc)
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(b["office"])
    run.bold = True
    run.font.size = Pt(18)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    trun = title.add_run(briefing.title_of(b))
    trun.bold = True
    trun.font.size = Pt(15)
    doc.add_paragraph(f"生成时间：{_when(b['generated_at'])}　　对比时段："
                      f"{b['previous_since']:%Y-%m-%d}至{b['previous_until']:%Y-%m-%d}")

    doc.add_heading("一、主要数据", level=2)
    _table(doc, ("指标", "本期", "上期", "增减"),
           [[f["label"], str(f["value"]), str(f["previous"]), f"{f['change']:+d}" if f["change"] else "0"]
            for f in b["figures"]])

    doc.add_heading("二、走势与分布", level=2)
    trend = b["trend"]
    doc.add_picture(io.BytesIO(charts.trend_chart("信息量走势", [p["date"] for p in trend],
                                                  [p["mentions"] for p in trend],
                                                  [p["negative"] for p in trend])), width=Cm(15))
    for key, name, color in (("topics", "话题分布（事件数）", "#1f6fb2"), ("sentiment", "情感倾向（条）", "#8e44ad"),
                             ("channels", "渠道分布（条）", "#16a085")):
        items = b[key][:10]
        if items:
            doc.add_picture(io.BytesIO(charts.bar_chart(name, [i["label"] for i in items],
                                                        [i["count"] for i in items], color)), width=Cm(15))
        else:
            doc.add_paragraph(f"{name}：本期无数据。")

    doc.add_heading("三、重点舆情", level=2)
    if not b["top_events"]:
        doc.add_paragraph("本期无重点舆情。")
    for n, e in enumerate(b["top_events"], start=1):
        grade = f"{e['grade']}级（{e['grade_label']}）" if e["grade"] else "未分级"
        p = doc.add_paragraph()
        p.add_run(f"{n}. {e['title']}").bold = True
        doc.add_paragraph(f"等级：{grade}；话题：{e['topic_label']}；相关信息{e['mention_count']}条，"
                          f"互动{e['engagement']}次。研判理由：{e['reason'] or '—'}")
        for post in e["posts"]:
            doc.add_paragraph(f"{post['channel']} {post['author']}：{post['title'] or post['text']}",
                              style="List Bullet")
        done = f"处置情况：工单{e['ticket_state_label']}" if e["ticket_id"] else "处置情况：尚未开单"
        if e["responses"]:
            done += "；已回应：" + "；".join(f"{r['channel']}《{r['title']}》（{_when(r['published_at'])}）"
                                         for r in e["responses"])
        doc.add_paragraph(done)

    doc.add_heading("四、超期事项", level=2)
    if b["overdue"]:
        _table(doc, ("工单", "事项", "责任单位", "超期环节", "时限"),
               [[str(o["ticket_id"]), o["title"], o["unit"], o["deadline"], _when(o["due_at"])]
                for o in b["overdue"]])
    else:
        doc.add_paragraph("无超期事项。")

    doc.add_heading("五、监测源异常", level=2)
    if b["silent_sources"]:
        _table(doc, ("监测源", "状态", "最近新内容"),
               [[s["name"], s["health_label"], _when(s["last_item_at"]) or "无"] for s in b["silent_sources"]])
    else:
        doc.add_paragraph("各监测源运行正常。")

    doc.add_heading("六、研判意见", level=2)
    doc.add_paragraph(b["opinion"] or "（值班员填写研判意见后报送）")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
