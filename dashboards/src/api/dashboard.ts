// 领导看板: one summary call for a range (last N days, or since/until in Beijing days).
import { client, unwrap, type Schemas } from './client'

export type DashboardSummary = Schemas['DashboardSummary']

export type DashboardRange = { days: number } | { since: string; until: string }

export function getDashboard(range: DashboardRange, signal?: AbortSignal): Promise<DashboardSummary> {
  return unwrap(client.GET('/api/dashboard/summary', { params: { query: range }, signal }))
}
