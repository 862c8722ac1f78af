"""Generate the office's documents from the loaded demo (`yuqing run --no-serve` first) and time them.

    YUQING_VAR_DIR=<the demo's var dir> .venv/bin/python -m benchmarks.documents docs/examples

Writes the annual 回应解读情况 section, the ledger and the monthly, weekly and daily briefings (and the
monthly one as PDF when LibreOffice is installed), and prints how long each took to build (the fastest
of three; database queries and rendering; charts included; the PDF time is the conversion alone).
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path

from cli.demo import demo_year
from core.db import session_scope
from core.ledger import service as ledger
from core.reports import briefing, briefing_send, documents, pdf
from core.reports import service as reports
from core.timeutil import to_local, utcnow

REPEAT = 3


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    year = demo_year()
    today = to_local(utcnow()).date()
    timings: list[tuple[str, float]] = []
    queries: dict[str, float] = {}  # of a briefing: the figures alone (the rest is Word and charts)

    def timed(name: str, build: object) -> None:
        # The fastest of REPEAT builds: the shared machine's load only ever adds time.
        best = float("inf")
        for _ in range(REPEAT):
            start = time.perf_counter()
            data = build()  # type: ignore[operator]
            best = min(best, time.perf_counter() - start)
        timings.append((name, best))
        (out / name).write_bytes(data)

    def figures(name: str, **kwargs: object) -> dict[str, object]:
        start = time.perf_counter()
        data = briefing.briefing(session=session, **kwargs)  # type: ignore[arg-type]
        queries[name] = min(queries.get(name, float("inf")), time.perf_counter() - start)
        return data

    with session_scope() as session:
        timed(f"yuqing-annual-{year}.docx",
              lambda: documents.annual_docx(reports.annual(session=session, year=year)))
        since, until = date(year, 1, 1), today
        start = reports.year_bounds(year)[0]
        end = reports.year_bounds(today.year)[1]
        timed(f"yuqing-ledger-{since}_{until}.xlsx", lambda: ledger.to_xlsx(
            ledger.rows(session=session, start=start, end=end),
            title="舆情台账", period=f"{since:%Y年%m月%d日}至{until:%Y年%m月%d日}"))
        monthly_name = f"yuqing-briefing-monthly-{today:%Y-%m}.docx"
        timed(monthly_name, lambda: documents.briefing_docx(figures(
            monthly_name, period="monthly", day=today,
            opinion="本月舆情总体平稳，供暖、征收补偿类诉求集中，建议责任单位加快回应、做好解释。")))
        week = briefing_send.last_completed("weekly", today)  # the last whole week, as the beat sends it
        weekly_name = f"yuqing-briefing-weekly-{briefing.period_days('weekly', week)[0]}.docx"
        timed(weekly_name, lambda: documents.briefing_docx(figures(weekly_name, period="weekly", day=week)))
        yesterday = today - timedelta(days=1)  # a whole day
        daily_name = f"yuqing-briefing-daily-{yesterday}.docx"
        timed(daily_name, lambda: documents.briefing_docx(figures(daily_name, period="daily", day=yesterday)))
        if pdf.converter():
            monthly = (out / f"yuqing-briefing-monthly-{today:%Y-%m}.docx").read_bytes()
            pdf.docx_to_pdf(monthly)  # the first conversion also creates LibreOffice's profile
            timed(f"yuqing-briefing-monthly-{today:%Y-%m}.pdf", lambda: pdf.docx_to_pdf(monthly))
    for name, seconds in timings:
        query = f"\t(figures {queries[name] * 1000:.0f} ms)" if name in queries else ""
        print(f"{name}\t{seconds * 1000:.0f} ms{query}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/examples"))
