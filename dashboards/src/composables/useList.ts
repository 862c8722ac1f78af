// List state for a page: query, page, size, total, rows, loading (FRONTEND.md §2.7-8).
// The query and page are mirrored into the route query, so a link opens a pre-filtered list.
// Each fetch aborts the previous one; loading is reset in finally.
import { reactive, ref, shallowRef, watch, type Ref, type UnwrapRef } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import { showError } from '@/api/client'

export interface ListResult<T> {
  rows: T[]
  total: number
}

export interface UseListOptions<Q extends Record<string, string>> {
  /** default values of the query form; every value is a string so it round-trips through the URL */
  query: Q
  size?: number
  /** sync query/page with the URL (default true) */
  syncRoute?: boolean
  immediate?: boolean
}

export function useList<T, Q extends Record<string, string>>(
  fetcher: (q: Q, page: number, size: number, signal: AbortSignal) => Promise<ListResult<T>>,
  options: UseListOptions<Q>,
) {
  const route = useRoute()
  const router = useRouter()
  const sync = options.syncRoute !== false
  const defaults = { ...options.query }
  const query = reactive({ ...defaults }) as UnwrapRef<Q>
  const page = ref(1)
  const size = ref(options.size ?? 20)
  const total = ref(0)
  const rows = shallowRef<T[]>([]) as Ref<T[]>
  const loading = ref(false)
  let controller: AbortController | null = null

  if (sync) {
    for (const key of Object.keys(defaults)) {
      const v = route.query[key]
      if (typeof v === 'string') (query as Record<string, string>)[key] = v
    }
    const p = Number(route.query.page)
    if (Number.isInteger(p) && p > 0) page.value = p
  }

  function writeRoute(): void {
    if (!sync) return
    const q: Record<string, string> = {}
    // keep query keys the list does not own (e.g. ?id= of a selected row)
    for (const [k, v] of Object.entries(route.query)) if (!(k in defaults) && k !== 'page' && typeof v === 'string') q[k] = v
    for (const [k, v] of Object.entries(query as Record<string, string>)) if (v !== '' && v !== defaults[k]) q[k] = v
    if (page.value > 1) q.page = String(page.value)
    const current = JSON.stringify(route.query)
    if (JSON.stringify(q) !== current) void router.replace({ query: q })
  }

  async function load(): Promise<void> {
    controller?.abort()
    const mine = new AbortController()
    controller = mine
    loading.value = true
    try {
      const result = await fetcher({ ...(query as Q) }, page.value, size.value, mine.signal)
      if (mine.signal.aborted) return
      rows.value = result.rows
      total.value = result.total
      writeRoute()
    } catch (e) {
      if (!mine.signal.aborted) showError(e, '加载失败')
    } finally {
      if (controller === mine) loading.value = false
    }
  }

  /** 查询: back to page 1 */
  function search(): Promise<void> {
    if (page.value !== 1) {
      page.value = 1 // the watch on page loads
      return Promise.resolve()
    }
    return load()
  }
  /** 重置: clear the form and reload */
  function reset(): Promise<void> {
    Object.assign(query as Record<string, string>, defaults)
    return search()
  }

  watch([page, size], () => void load())
  if (options.immediate !== false) void load()

  return { query, page, size, total, rows, loading, load, search, reset }
}
