import { client, unwrap, type Schemas } from './client'

export type Shift = Schemas['DutyShiftPublic']
export type Handover = Schemas['HandoverPublic']

export function onDutyNow(signal?: AbortSignal): Promise<Schemas['OnDuty']> {
  return unwrap(client.GET('/api/duty/now', { signal }))
}

export function listShifts(start: string, end: string, signal?: AbortSignal): Promise<Shift[]> {
  return unwrap(client.GET('/api/duty/shifts', { params: { query: { start, end } }, signal }))
}

export function listHandovers(limit = 50, signal?: AbortSignal): Promise<Handover[]> {
  return unwrap(client.GET('/api/duty/handovers', { params: { query: { limit } }, signal }))
}

export function createHandover(body: Schemas['HandoverIn']): Promise<Handover> {
  return unwrap(client.POST('/api/duty/handovers', { body }))
}
