// 专题: list, define, edit, delete; a topic's page data; the 专报 download URL.
import { client, unwrap, type Schemas } from './client'

export type Track = Schemas['TrackPublic']
export type TrackIn = Schemas['TrackIn']
export type TrackUpdate = Schemas['TrackUpdate']
export type TrackOverview = Schemas['TrackOverview']

const path = (id: number) => ({ path: { track_id: id } })

export function listTracks(signal?: AbortSignal): Promise<Track[]> {
  return unwrap(client.GET('/api/tracks', { signal }))
}

export function createTrack(body: TrackIn): Promise<Track> {
  return unwrap(client.POST('/api/tracks', { body }))
}

export function updateTrack(id: number, body: TrackUpdate): Promise<Track> {
  return unwrap(client.PATCH('/api/tracks/{track_id}', { params: path(id), body }))
}

export async function deleteTrack(id: number): Promise<void> {
  await unwrap(client.DELETE('/api/tracks/{track_id}', { params: path(id) }))
}

export function getTrackOverview(id: number, signal?: AbortSignal): Promise<TrackOverview> {
  return unwrap(client.GET('/api/tracks/{track_id}/overview', { params: path(id), signal }))
}

/** 专报 as Word, with the duty officer's 研判意见. */
export function trackReportUrl(id: number, opinion: string): string {
  const p = new URLSearchParams({ format: 'docx' })
  if (opinion.trim()) p.set('opinion', opinion.trim())
  return `/api/tracks/${id}/report?${p.toString()}`
}
