"""Word documents the office hands on (python-docx): the annual 回应解读情况 section."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt


def _chinese_font(doc: Any, name: str = "宋体") -> None:
    """Word picks the East Asian font from w:eastAsia; without it Chinese falls back to a Latin face."""
    style = doc.styles["Normal"]
    style.font.name = name
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), name)


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
