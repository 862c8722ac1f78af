import { describe, expect, it } from 'vitest'
import type { RouteRecordRaw } from 'vue-router'
import { buildMenu, canSee } from './menu'

const noop = () => Promise.resolve({})
const routes: RouteRecordRaw[] = [
  { path: 'b', component: noop, meta: { title: 'B', order: 2 } },
  { path: 'a', component: noop, meta: { title: 'A', order: 1, roles: ['duty'] } },
  { path: 'x/:id', component: noop, meta: { title: 'X', hidden: true } },
  { path: 'admin/u', component: noop, meta: { title: '用户', order: 20, group: '系统管理', roles: ['admin'] } },
  { path: 'admin/s', component: noop, meta: { title: '监测源', order: 21, group: '系统管理', roles: ['admin'] } },
]

describe('buildMenu', () => {
  it('keeps only the role’s items, in order, without hidden routes', () => {
    expect(buildMenu(routes, 'duty')).toEqual([
      { path: '/a', title: 'A', icon: undefined },
      { path: '/b', title: 'B', icon: undefined },
    ])
    expect(buildMenu(routes, 'handler').map((e) => e.title)).toEqual(['B'])
  })

  it('groups admin pages under one sub-menu', () => {
    const menu = buildMenu(routes, 'admin')
    expect(menu.map((e) => e.title)).toEqual(['B', '系统管理'])
    expect(menu[1]).toMatchObject({ children: [{ path: '/admin/u' }, { path: '/admin/s' }] })
  })

  it('shows nothing to a user without a known role', () => {
    expect(buildMenu(routes, null)).toEqual([])
    expect(canSee(undefined, null)).toBe(false)
  })
})
