import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Schemas } from '@/api/client'
import { fetchMe, login as apiLogin } from '@/api/auth'
import { clearToken, getToken, onTokenCleared, setToken } from './token'

export const ROLES = ['admin', 'leader', 'duty', 'handler'] as const
export type Role = (typeof ROLES)[number]
export const ROLE_LABELS: Record<Role, string> = {
  admin: '系统管理员',
  leader: '领导',
  duty: '值班员',
  handler: '承办人',
}
export type User = Schemas['UserPublic']

export const useAuthStore = defineStore('auth', () => {
  const token = ref<string>(getToken() ?? '')
  const me = ref<User | null>(null)
  const role = computed<Role | null>(() => {
    const r = me.value?.role
    return r && (ROLES as readonly string[]).includes(r) ? (r as Role) : null
  })

  onTokenCleared(() => {
    token.value = ''
    me.value = null
  })

  async function login(username: string, password: string): Promise<void> {
    const t = await apiLogin(username, password)
    setToken(t.access_token)
    token.value = t.access_token
    me.value = await fetchMe()
  }

  async function loadMe(): Promise<User> {
    me.value = await fetchMe()
    return me.value
  }

  function logout(): void {
    clearToken()
  }

  function hasRole(...roles: Role[]): boolean {
    return role.value !== null && roles.includes(role.value)
  }

  return { token, me, role, login, loadMe, logout, hasRole }
})
