// The sidebar is the route table filtered by role and sorted by meta.order (pure, unit-tested).
import type { RouteRecordRaw } from 'vue-router'
import type { Role } from '@/stores/auth'

export interface MenuItem {
  path: string
  title: string
  icon?: string
}
export interface MenuGroup {
  title: string
  icon?: string
  children: MenuItem[]
}
export type MenuEntry = MenuItem | MenuGroup

export function canSee(roles: Role[] | undefined, role: Role | null): boolean {
  if (!roles) return role !== null
  return role !== null && roles.includes(role)
}

export function buildMenu(routes: RouteRecordRaw[], role: Role | null): MenuEntry[] {
  const visible = routes
    .filter((r) => !r.meta?.hidden && canSee(r.meta?.roles, role))
    .sort((a, b) => (a.meta?.order ?? 99) - (b.meta?.order ?? 99))
  const out: MenuEntry[] = []
  const groups = new Map<string, MenuGroup>()
  for (const r of visible) {
    const item: MenuItem = { path: `/${r.path}`, title: r.meta?.title ?? r.path, icon: r.meta?.icon }
    const groupTitle = r.meta?.group
    if (!groupTitle) {
      out.push(item)
      continue
    }
    let group = groups.get(groupTitle)
    if (!group) {
      group = { title: groupTitle, icon: 'Setting', children: [] }
      groups.set(groupTitle, group)
      out.push(group)
    }
    group.children.push(item)
  }
  return out
}
