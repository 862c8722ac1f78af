import { client, unwrap, type Schemas } from './client'

export type AlertRow = Schemas['AlertRow']
export type AlertDetail = Schemas['AlertDetail']
export type PostBrief = Schemas['PostBrief']
export type AlertState = 'open' | 'acknowledged' | 'closed' | 'all'

export function listAlerts(state: AlertState, limit: number, offset: number, signal?: AbortSignal): Promise<AlertRow[]> {
  return unwrap(client.GET('/api/alerts', { params: { query: { state, limit, offset } }, signal }))
}

export function getAlert(id: number, signal?: AbortSignal): Promise<AlertDetail> {
  return unwrap(client.GET('/api/alerts/{alert_id}', { params: { path: { alert_id: id } }, signal }))
}

/** 签收 */
export function acknowledgeAlert(id: number) {
  return unwrap(client.POST('/api/alerts/{alert_id}/acknowledge', { params: { path: { alert_id: id } } }))
}

/** 误报 (with the reason; it teaches the classifier) */
export function dismissAlert(id: number, reason: string) {
  return unwrap(client.POST('/api/alerts/{alert_id}/dismiss', { params: { path: { alert_id: id } }, body: { reason } }))
}
