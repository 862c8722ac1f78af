import 'vue-router'
import type { Role } from '@/stores/auth'

declare module 'vue-router' {
  interface RouteMeta {
    /** 中文 title: menu label and document title */
    title?: string
    /** icon name from @element-plus/icons-vue */
    icon?: string
    /** roles that may open the page; absent means any signed-in user */
    roles?: Role[]
    /** not in the menu (detail pages, errors) */
    hidden?: boolean
    /** menu order */
    order?: number
    /** menu group (a sub-menu title), e.g. 系统管理 */
    group?: string
    /** page needs no login */
    public?: boolean
  }
}
