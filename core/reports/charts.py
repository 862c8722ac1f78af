"""Charts for documents, drawn on the server with matplotlib in a CJK font (Debian fonts-noto-cjk).

Nothing is fetched at run time: the font is looked up among the installed system fonts.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import date
from functools import cache

log = logging.getLogger(__name__)

# Preferred CJK families, first installed wins. The Noto CJK .ttc holds one face per region and
# its first face is the Japanese one (JP glyph shapes for some hanzi): the Simplified Chinese
# face is asked for by family name (matplotlib >= 3.10 registers every face of a collection).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "Source Han Sans CN",
                "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei")
# Files to register when matplotlib's font cache predates the font's installation.
CJK_FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular",
                  "SourceHanSansSC-Regular", "wqy-microhei.ttc", "wqy-zenhei.ttc", "NotoSerifCJK-Regular.ttc")


def _installed_family() -> str | None:
    from matplotlib import font_manager

    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in names), None)


@cache
def cjk_font() -> str | None:
    """The family name of an installed Simplified Chinese font known to matplotlib; None if none."""
    from matplotlib import font_manager

    family = _installed_family()
    if family is None:
        for path in font_manager.findSystemFonts():
            if path.rsplit("/", 1)[-1].startswith(CJK_FONT_FILES):
                font_manager.fontManager.addfont(path)  # every face of a .ttc
        family = _installed_family()
    if family is None:
        log.warning("no CJK font installed (apt-get install fonts-noto-cjk): chart labels will not render")
    return family


def _figure(width: float = 7.0, height: float = 3.2) -> tuple[object, object]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_font()
    plt.rcParams["font.family"] = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(width, height), dpi=150)
    return fig, ax


def _png(fig: object) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(buf, format="png")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


def trend_chart(title: str, days: Sequence[date], total: Sequence[int], negative: Sequence[int]) -> bytes:
    fig, ax = _figure()
    labels = [f"{d.month}/{d.day}" for d in days]
    ax.plot(labels, total, marker="o", label="信息量", color="#1f6fb2")  # type: ignore[attr-defined]
    ax.plot(labels, negative, marker="o", label="负面", color="#c0392b")  # type: ignore[attr-defined]
    ax.set_title(title)  # type: ignore[attr-defined]
    ax.set_ylabel("条")  # type: ignore[attr-defined]
    ax.legend()  # type: ignore[attr-defined]
    ax.grid(alpha=0.3)  # type: ignore[attr-defined]
    if len(labels) > 12:
        step = max(1, len(labels) // 10)
        ax.set_xticks(range(0, len(labels), step))  # type: ignore[attr-defined]
    return _png(fig)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[int], color: str = "#1f6fb2") -> bytes:
    fig, ax = _figure(height=max(2.2, 0.35 * len(labels) + 1.0))
    ax.barh(list(reversed(labels)), list(reversed(values)), color=color)  # type: ignore[attr-defined]
    ax.set_title(title)  # type: ignore[attr-defined]
    for y, v in enumerate(reversed(values)):
        ax.text(v, y, f" {v}", va="center")  # type: ignore[attr-defined]
    return _png(fig)
