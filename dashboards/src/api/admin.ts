// 系统管理: users, units and staff posts, sources, notification channels, office calendar, taxonomy and gazetteer.
import { authFetch, authJson, client, unwrap, type Schemas } from './client'

export type UserUpdate = Schemas['UserUpdate']
export type CalendarDay = Schemas['CalendarDayPublic']
export type CalendarImportReport = Schemas['CalendarImportResult']
export type CalendarStatus = Schemas['CalendarStatus']

export type User = Schemas['UserPublic']
export type UserCreate = Schemas['UserCreate']
export type UserRole = UserCreate['role']
export type Unit = Schemas['UnitPublic']
export type UnitCreate = Schemas['UnitCreate']
export type UnitUpdate = Schemas['UnitUpdate']
export type StaffPost = Schemas['StaffPostPublic']
export type StaffPostCreate = Schemas['StaffPostCreate']
export type Source = Schemas['SourcePublic']
export type SourceCreate = Schemas['SourceCreate']
export type SourceUpdate = Schemas['SourceUpdate']
export type SourceCredentials = Schemas['SourceCredentials']
export type TestFetchResult = Schemas['TestFetchResult']
export type Channel = Schemas['NotificationChannelPublic']
export type ChannelCreate = Schemas['NotificationChannelCreate']
export type ChannelUpdate = Schemas['NotificationChannelUpdate']
export type ChannelTestResult = Schemas['ChannelTestResult']
export type Taxonomy = Schemas['TaxonomyInfo']
export type Gazetteer = Schemas['GazetteerInfo']

// ---- users
export function listUsers(signal?: AbortSignal): Promise<User[]> {
  return unwrap(client.GET('/api/users', { signal }))
}
export function createUser(body: UserCreate): Promise<User> {
  return unwrap(client.POST('/api/users', { body }))
}
/** h8-sec (pending): role / unit / deactivate; kills the user's old tokens. */
export function updateUser(id: number, body: UserUpdate): Promise<User> {
  return authJson<User>(`/api/users/${id}`, { method: 'PATCH', json: body })
}
/** h8-sec (pending) */
export function resetPassword(id: number, password: string): Promise<unknown> {
  return authJson<unknown>(`/api/users/${id}/reset-password`, { method: 'POST', json: { password } })
}

// ---- units and staff posts
export function listUnits(signal?: AbortSignal): Promise<Unit[]> {
  return unwrap(client.GET('/api/units', { signal }))
}
export function createUnit(body: UnitCreate): Promise<Unit> {
  return unwrap(client.POST('/api/units', { body }))
}
export function updateUnit(id: number, body: UnitUpdate): Promise<Unit> {
  return unwrap(client.PATCH('/api/units/{unit_id}', { params: { path: { unit_id: id } }, body }))
}
export function listPosts(signal?: AbortSignal): Promise<StaffPost[]> {
  return unwrap(client.GET('/api/duty/posts', { signal }))
}
export function createPost(body: StaffPostCreate): Promise<StaffPost> {
  return unwrap(client.POST('/api/duty/posts', { body }))
}
export function endPost(id: number): Promise<StaffPost> {
  return unwrap(client.POST('/api/duty/posts/{post_id}/end', { params: { path: { post_id: id } } }))
}

// ---- sources
const src = (id: number) => ({ params: { path: { source_id: id } } })
export function listSources(signal?: AbortSignal): Promise<Source[]> {
  return unwrap(client.GET('/api/sources', { signal }))
}
export function createSource(body: SourceCreate): Promise<Source> {
  return unwrap(client.POST('/api/sources', { body }))
}
export function updateSource(id: number, body: SourceUpdate): Promise<Source> {
  return unwrap(client.PATCH('/api/sources/{source_id}', { ...src(id), body }))
}
/** Write-only: the answer says only has_credentials. */
export function setCredentials(id: number, body: SourceCredentials): Promise<Source> {
  return unwrap(client.PUT('/api/sources/{source_id}/credentials', { ...src(id), body }))
}
export function clearCredentials(id: number): Promise<Source> {
  return unwrap(client.DELETE('/api/sources/{source_id}/credentials', src(id)))
}
export function testFetch(id: number): Promise<TestFetchResult> {
  return unwrap(client.POST('/api/sources/{source_id}/test-fetch', src(id)))
}

// ---- notification channels
const ch = (id: number) => ({ params: { path: { channel_id: id } } })
export function listChannels(signal?: AbortSignal): Promise<Channel[]> {
  return unwrap(client.GET('/api/notifications/channels', { signal }))
}
export function createChannel(body: ChannelCreate): Promise<Channel> {
  return unwrap(client.POST('/api/notifications/channels', { body }))
}
export function updateChannel(id: number, body: ChannelUpdate): Promise<Channel> {
  return unwrap(client.PATCH('/api/notifications/channels/{channel_id}', { ...ch(id), body }))
}
export function testChannel(id: number): Promise<ChannelTestResult> {
  return unwrap(client.POST('/api/notifications/channels/{channel_id}/test', ch(id)))
}

// ---- office calendar (h12-tickets, pending)
export function listCalendarDays(year: number, signal?: AbortSignal): Promise<CalendarDay[]> {
  return authJson<CalendarDay[]>(`/api/calendar/days?year=${year}`, { signal })
}
export function saveCalendarDay(body: { date: string; kind: string; name: string }): Promise<CalendarDay> {
  return authJson<CalendarDay>('/api/calendar/days', { method: 'POST', json: body })
}
export function deleteCalendarDay(date: string): Promise<unknown> {
  return authJson<unknown>(`/api/calendar/days/${encodeURIComponent(date)}`, { method: 'DELETE' })
}
export async function importCalendar(file: File): Promise<CalendarImportReport> {
  const form = new FormData()
  form.append('file', file)
  const response = await authFetch('/api/calendar/import', { method: 'POST', body: form })
  return (await response.json()) as CalendarImportReport
}
export function getCalendarStatus(signal?: AbortSignal): Promise<CalendarStatus> {
  return authJson<CalendarStatus>('/api/calendar/status', { signal })
}

// ---- taxonomy and gazetteer (read-only views)
export function getTaxonomy(signal?: AbortSignal): Promise<Taxonomy> {
  return unwrap(client.GET('/api/taxonomy', { signal }))
}
export function getGazetteer(signal?: AbortSignal): Promise<Gazetteer> {
  return unwrap(client.GET('/api/gazetteer', { signal }))
}
