// People and units, for pickers (开单: lead unit, handler, assisting units).
import { client, unwrap, type Schemas } from './client'

export type Unit = Schemas['UnitPublic']
export type User = Schemas['UserPublic']

export function listUnits(signal?: AbortSignal): Promise<Unit[]> {
  return unwrap(client.GET('/api/units', { signal }))
}

export function listUsers(signal?: AbortSignal): Promise<User[]> {
  return unwrap(client.GET('/api/users', { signal }))
}
