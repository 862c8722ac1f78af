import { client, unwrap, type Schemas } from './client'

export type Workspace = Schemas['Workspace']

export function getWorkspace(signal?: AbortSignal): Promise<Workspace> {
  return unwrap(client.GET('/api/workspace', { signal }))
}
