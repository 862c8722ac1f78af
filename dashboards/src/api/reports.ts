// 报表: URLs of the downloads (fetched as blobs with the login by useDownload), and the annual figures.
import { client, unwrap, type Schemas } from './client'

export type LedgerFormat = 'xlsx' | 'csv'

/** 台账 for a year, or for a range of Beijing days (since/until inclusive). */
export function ledgerUrl(format: LedgerFormat, range: { year: number } | { since: string; until: string }): string {
  const p = new URLSearchParams({ format })
  if ('year' in range) p.set('year', String(range.year))
  else {
    p.set('since', range.since)
    p.set('until', range.until)
  }
  return `/api/ledger?${p.toString()}`
}

/** 年报 document for a year. */
export function annualReportUrl(year: number, format = 'docx'): string {
  return `/api/reports/annual?${new URLSearchParams({ year: String(year), format }).toString()}`
}

export function getAnnual(year: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
  // The route also answers Word (format=docx), so its 200 has two media types; JSON is asked here.
  return unwrap(client.GET('/api/reports/annual', { params: { query: { year } }, signal })) as Promise<Record<string, unknown>>
}

export type BriefingPeriod = 'daily' | 'weekly' | 'monthly'

/** 舆情日报/周报/月报 as Word, with the duty officer's 研判意见. */
export function briefingUrl(period: BriefingPeriod, date: string, opinion: string): string {
  const p = new URLSearchParams({ period, date, format: 'docx' })
  if (opinion.trim()) p.set('opinion', opinion.trim())
  return `/api/reports/briefing?${p.toString()}`
}

export type BriefingFormat = 'docx' | 'pdf'

/** 舆情日报/周报/月报 as Word or PDF, with the duty officer's 研判意见. */
export function briefingFileUrl(period: BriefingPeriod, date: string, opinion: string, format: BriefingFormat): string {
  const p = new URLSearchParams({ period, date, format })
  if (opinion.trim()) p.set('opinion', opinion.trim())
  return `/api/reports/briefing?${p.toString()}`
}

/** The briefing's figures as JSON (the page's preview; the same figures as the Word file). */
export function getBriefing(period: BriefingPeriod, date: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  return unwrap(client.GET('/api/reports/briefing', { params: { query: { period, date } }, signal })) as Promise<Record<string, unknown>>
}

/** What this server can export (PDF only with LibreOffice installed). */
export function getReportFormats(): Promise<Schemas['ReportFormats']> {
  return unwrap(client.GET('/api/reports/formats'))
}

/** 立即报送: the briefing with the 研判意见 to the enabled channels (mail: file; robots: link). */
export function sendBriefing(body: Schemas['BriefingSendIn']): Promise<Schemas['BriefingSendOut']> {
  return unwrap(client.POST('/api/reports/briefing/send', { body }))
}
