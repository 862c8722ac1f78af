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
