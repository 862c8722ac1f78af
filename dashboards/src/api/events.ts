// 事件详情: the event with its posts, grade history with reasons, spread by channel and hour.
import { client, unwrap, type Schemas } from './client'

export type EventDetail = Schemas['EventDetail']
export type GradeChange = Schemas['GradeChange']
export type EventSpread = Schemas['EventSpread']

const path = (id: number) => ({ params: { path: { event_id: id } } })

export function getEvent(id: number, signal?: AbortSignal): Promise<EventDetail> {
  return unwrap(client.GET('/api/events/{event_id}', { ...path(id), signal }))
}

export function getGradeHistory(id: number, signal?: AbortSignal): Promise<GradeChange[]> {
  return unwrap(client.GET('/api/events/{event_id}/grades', { ...path(id), signal }))
}

export function getSpread(id: number, signal?: AbortSignal): Promise<EventSpread> {
  return unwrap(client.GET('/api/events/{event_id}/spread', { ...path(id), signal }))
}
