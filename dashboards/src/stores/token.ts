// The token lives in memory, mirrored to sessionStorage only (dies with the tab; FRONTEND.md §3).
// Kept outside Pinia so the HTTP client can read it before any store exists.
export const TOKEN_KEY = 'yuqing.token'

let token: string | null = null

export function getToken(): string | null {
  if (token === null) token = sessionStorage.getItem(TOKEN_KEY)
  return token
}

export function setToken(value: string): void {
  token = value
  sessionStorage.setItem(TOKEN_KEY, value)
}

export function clearToken(): void {
  token = ''
  sessionStorage.removeItem(TOKEN_KEY)
  onClear.forEach((fn) => fn())
}

const onClear: (() => void)[] = []
/** The auth store drops its profile when the token is cleared (401 or logout). */
export function onTokenCleared(fn: () => void): void {
  onClear.push(fn)
}
