"""Charts in documents are drawn in the Simplified Chinese face of the installed CJK font."""

from __future__ import annotations

import io
from datetime import date

import pytest

from core.reports import charts


def test_charts_use_the_simplified_chinese_face_not_the_collection_s_first() -> None:
    from matplotlib import font_manager

    family = charts.cjk_font()
    if family is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert family.endswith(("SC", "CN", "Hei"))
    fig, ax = charts._figure()
    title = ax.set_title("舆情走势：暖气、停车")  # type: ignore[attr-defined]
    # The face the text is drawn with, resolved as matplotlib renders it (a .ttc face by index).
    assert title.get_fontname() == family
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    entry = next(e for e in font_manager.fontManager.ttflist
                 if e.fname == str(path) and e.name == family)
    if str(path).endswith(".ttc"):
        assert entry.index > 0  # the first face of Noto's collection is the Japanese one
    import matplotlib.pyplot as plt

    plt.close(fig)  # type: ignore[arg-type]


def test_a_chart_is_a_png_with_chinese_drawn(recwarn: pytest.WarningsRecorder) -> None:
    if charts.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    png = charts.bar_chart("话题分布", ["停车管理", "供暖"], [3, 1])
    assert png.startswith(b"\x89PNG")
    # A missing glyph warns "Glyph ... missing from font(s)": none may be missing.
    assert not [w for w in recwarn if "missing from" in str(w.message)]
    trend = charts.trend_chart("信息量走势", [date(2026, 3, 1), date(2026, 3, 2)], [5, 7], [1, 2])
    from PIL import Image

    assert Image.open(io.BytesIO(trend)).size[0] > 600


def _docx(text: str, east_asia: str | None) -> bytes:
    from docx import Document
    from docx.oxml.ns import qn

    from core.reports import documents

    doc = Document()
    if east_asia is None:
        documents._chinese_font(doc)  # as every document of ours
    else:
        doc.styles["Normal"].element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asia)
    doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _embedded_fonts(pdf_bytes: bytes) -> list[bytes]:
    import re
    import zlib

    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf_bytes, re.S):
        try:
            raw = zlib.decompress(m.group(1))
        except zlib.error:
            continue
        if b"NotoSans" in raw or b"NotoSerif" in raw:
            out.append(raw)
    return out


def test_word_documents_are_marked_simplified_chinese() -> None:
    import zipfile

    styles = zipfile.ZipFile(io.BytesIO(_docx("站前", None))).read("word/styles.xml").decode()
    assert 'w:eastAsia="zh-CN"' in styles and 'w:eastAsia="宋体"' in styles and 'w:eastAsia="黑体"' in styles


def test_the_pdf_draws_chinese_in_the_simplified_chinese_face() -> None:
    """Where 宋体 is not installed LibreOffice falls back by the text's language: the glyphs it embeds
    are those of Noto Sans CJK SC (骨、直、角 differ from the Japanese face)."""
    from core.reports import pdf

    if pdf.converter() is None or charts.cjk_font() != "Noto Sans CJK SC":
        pytest.skip("needs LibreOffice and fonts-noto-cjk")
    text = "站前小区暖气不热，骨折直角，供暖、征收动迁。"
    ours = _embedded_fonts(pdf.docx_to_pdf(_docx(text, None)))
    assert ours and ours == _embedded_fonts(pdf.docx_to_pdf(_docx(text, "Noto Sans CJK SC")))
    assert ours != _embedded_fonts(pdf.docx_to_pdf(_docx(text, "Noto Sans CJK JP")))
