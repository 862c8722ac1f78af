"""Generate the office's documents from the loaded demo (`yuqing run --no-serve` first) and time them.

    YUQING_VAR_DIR=<the demo's var dir> .venv/bin/python -m benchmarks.documents docs/examples

Writes the annual 回应解读情况 section, the ledger and the monthly, weekly and daily briefings (and the
monthly one as PDF when LibreOffice is installed), and prints how long each took to build (database
queries and rendering; charts included; the PDF time is the conversion alone).
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


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    year = demo_year()
    today = to_local(utcnow()).date()
    timings: list[tuple[str, float]] = []

    def timed(name: str, build: object) -> None:
        start = time.perf_counter()
        data = build()  # type: ignore[operator]
        timings.append((name, time.perf_counter() - start))
        (out / name).write_bytes(data)

    with session_scope() as session:
        timed(f"yuqing-annual-{year}.docx",
              lambda: documents.annual_docx(reports.annual(session=session, year=year)))
        since, until = date(year, 1, 1), today
        start = reports.year_bounds(year)[0]
        end = reports.year_bounds(today.year)[1]
        timed(f"yuqing-ledger-{since}_{until}.xlsx", lambda: ledger.to_xlsx(
            ledger.rows(session=session, start=start, end=end),
            title="舆情台账", period=f"{since:%Y年%m月%d日}至{until:%Y年%m月%d日}"))
        timed(f"yuqing-briefing-monthly-{today:%Y-%m}.docx", lambda: documents.briefing_docx(briefing.briefing(
            session=session, period="monthly", day=today,
            opinion="本月舆情总体平稳，供暖、征收补偿类诉求集中，建议责任单位加快回应、做好解释。")))
        week = briefing_send.last_completed("weekly", today)  # the last whole week, as the beat sends it
        timed(f"yuqing-briefing-weekly-{briefing.period_days('weekly', week)[0]}.docx",
              lambda: documents.briefing_docx(briefing.briefing(session=session, period="weekly", day=week)))
        yesterday = today - timedelta(days=1)  # a whole day
        timed(f"yuqing-briefing-daily-{yesterday}.docx", lambda: documents.briefing_docx(
            briefing.briefing(session=session, period="daily", day=yesterday)))
        if pdf.converter():
            monthly = (out / f"yuqing-briefing-monthly-{today:%Y-%m}.docx").read_bytes()
            pdf.docx_to_pdf(monthly)  # the first conversion also creates LibreOffice's profile
            timed(f"yuqing-briefing-monthly-{today:%Y-%m}.pdf", lambda: pdf.docx_to_pdf(monthly))
    for name, seconds in timings:
        print(f"{name}\t{seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/examples"))
