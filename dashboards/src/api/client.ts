// The one HTTP client: openapi-fetch typed by the generated schema, with one middleware for the bearer token
// and for errors by status (FRONTEND.md §2.4). Views never build URLs: they call the functions in api/<domain>.ts.
import createClient, { type Middleware } from 'openapi-fetch'
import { ElMessage, ElMessageBox } from 'element-plus'
import type { components, paths } from './schema'
import { getToken, clearToken } from '@/stores/token'

export type Schemas = components['schemas']

/** An error answer of the API: status, the Chinese `detail`, and FastAPI's structured `errors` on 422. */
export class ApiError extends Error {
  status: number
  detail: string
  errors: { loc: (string | number)[]; msg: string }[]
  /** true when the middleware already told the user (401, 403, 5xx, network) */
  handled: boolean

  constructor(status: number, detail: string, errors: ApiError['errors'] = [], handled = false) {
    super(detail)
    this.status = status
    this.detail = detail
    this.errors = errors
    this.handled = handled
  }
}

let expiredPromptOpen = false
type Navigate = (to: string) => void
let navigate: Navigate = (to) => window.location.assign(to)
/** The router registers itself so a 401 goes to /login without a full reload. */
export function setNavigator(fn: Navigate): void {
  navigate = fn
}

function onUnauthorized(): void {
  clearToken()
  if (expiredPromptOpen) return
  expiredPromptOpen = true
  const here = window.location.pathname + window.location.search
  ElMessageBox.alert('登录已过期或已退出，请重新登录。', '登录已过期', { confirmButtonText: '重新登录', type: 'warning' })
    .catch(() => undefined)
    .finally(() => {
      expiredPromptOpen = false
      navigate(`/login?redirect=${encodeURIComponent(here)}`)
    })
}

export async function readDetail(response: Response): Promise<{ detail: string; errors: ApiError['errors'] }> {
  try {
    const body = (await response.clone().json()) as { detail?: unknown; errors?: ApiError['errors'] }
    if (typeof body.detail === 'string') return { detail: body.detail, errors: body.errors ?? [] }
    if (Array.isArray(body.detail)) {
      const errors = body.detail as ApiError['errors']
      return { detail: errors.map((e) => e.msg).join('；') || '请求参数有误', errors }
    }
  } catch {
    /* not JSON */
  }
  return { detail: `请求失败（${response.status}）`, errors: [] }
}

const authAndErrors: Middleware = {
  onRequest({ request }) {
    const token = getToken()
    if (token) request.headers.set('Authorization', `Bearer ${token}`)
    return request
  },
  async onResponse({ request, response }) {
    if (response.ok) return response
    const isLogin = new URL(request.url).pathname === '/api/auth/token'
    if (response.status === 401 && !isLogin) {
      onUnauthorized()
    } else if (response.status === 403) {
      ElMessage.error({ message: '无权限执行此操作', grouping: true })
    } else if (response.status >= 500) {
      const { detail } = await readDetail(response)
      ElMessage.error({ message: `服务器错误：${detail}`, grouping: true })
    }
    return response
  },
  onError({ error }) {
    if (error instanceof DOMException && error.name === 'AbortError') return
    ElMessage.error({ message: '网络连接失败，请检查网络后重试', grouping: true })
    return new Error('网络连接失败')
  },
}

export const client = createClient<paths>({ baseUrl: '' })
client.use(authAndErrors)

/** openapi-fetch result → data, or throw ApiError (marked handled when the middleware already showed it). */
export async function unwrap<T>(promise: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response }
  try {
    result = await promise
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError(0, '网络连接失败', [], true)
  }
  const { data, response } = result
  if (response.ok) return data as T
  const { detail, errors } = await readDetail(response)
  const handled = response.status === 401 || response.status === 403 || response.status >= 500
  throw new ApiError(response.status, detail, errors, handled)
}

/** Show an error the middleware did not already show (409, 400, 422 outside a form, 404). */
export function showError(e: unknown, fallback = '操作失败'): void {
  if (e instanceof DOMException && e.name === 'AbortError') return
  if (e instanceof ApiError) {
    if (!e.handled) ElMessage.error(e.detail || fallback)
    return
  }
  ElMessage.error(fallback)
  console.warn(e)
}

/** Fetch with the bearer token for endpoints outside the generated schema (downloads, multipart, pending ones). */
export async function authFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  const token = getToken()
  if (token) headers.set('Authorization', `Bearer ${token}`)
  let response: Response
  try {
    response = await fetch(url, { ...init, headers })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    ElMessage.error({ message: '网络连接失败，请检查网络后重试', grouping: true })
    throw new ApiError(0, '网络连接失败', [], true)
  }
  if (!response.ok) {
    const { detail, errors } = await readDetail(response)
    let handled = false
    if (response.status === 401) {
      onUnauthorized()
      handled = true
    } else if (response.status === 403) {
      ElMessage.error({ message: '无权限执行此操作', grouping: true })
      handled = true
    } else if (response.status >= 500) {
      ElMessage.error({ message: `服务器错误：${detail}`, grouping: true })
      handled = true
    }
    throw new ApiError(response.status, detail, errors, handled)
  }
  return response
}

/** JSON call through authFetch (for hand-typed pending endpoints, see api/pending.ts). */
export async function authJson<T>(url: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init
  const headers = new Headers(rest.headers)
  if (json !== undefined) headers.set('Content-Type', 'application/json')
  const response = await authFetch(url, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body })
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}
