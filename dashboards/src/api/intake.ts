import { authJson, client, unwrap, type Schemas } from './client'
import type { ImportReport } from './pending'

export type CallCreate = Schemas['CallCreate']

/** 来电登记 */
export function recordCall(body: CallCreate) {
  return unwrap(client.POST('/api/intake/calls', { body }))
}

/** 导入 a CSV/Excel export; the answer reports accepted, duplicate and rejected rows. */
export function importTable(file: File, channel: string): Promise<ImportReport> {
  const form = new FormData()
  form.append('file', file)
  form.append('channel', channel)
  return authJson<ImportReport>('/api/intake/import', { method: 'POST', body: form })
}
