import { useAuthStore, type Role } from '@/stores/auth'

/** Action-level role checks for v-if / :disabled (the server decides; this only hides what it would refuse). */
export function useCan() {
  const auth = useAuthStore()
  return {
    hasRole: (role: Role) => auth.hasRole(role),
    hasAnyRole: (...roles: Role[]) => auth.hasRole(...roles),
    isDispatcher: () => auth.hasRole('admin', 'leader', 'duty'),
    isLeader: () => auth.hasRole('admin', 'leader'),
    isAdmin: () => auth.hasRole('admin'),
  }
}
