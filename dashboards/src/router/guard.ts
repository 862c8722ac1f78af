// One beforeEach guard (FRONTEND.md §2.2): no token → /login?redirect; token without profile → load /me once;
// role mismatch → /403. login, 403 and 404 are public.
import type { Router } from 'vue-router'
import { useAuthStore } from '@/stores/auth'
import { useAppStore } from '@/stores/app'
import { canSee } from './menu'

export function installGuard(router: Router): void {
  router.beforeEach(async (to) => {
    if (to.meta.public) return true
    const auth = useAuthStore()
    if (!auth.token) return { path: '/login', query: { redirect: to.fullPath } }
    if (!auth.me) {
      try {
        await auth.loadMe()
      } catch {
        auth.logout()
        return { path: '/login', query: { redirect: to.fullPath } }
      }
    }
    if (!canSee(to.meta.roles, auth.role)) return { path: '/403', query: { from: to.fullPath } }
    return true
  })
  router.afterEach((to) => {
    const app = useAppStore()
    document.title = to.meta.title ? `${to.meta.title} - ${app.officeName}舆情系统` : `${app.officeName}舆情系统`
    app.closeSidebarOnMobile()
  })
}
