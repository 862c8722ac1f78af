// The one route table: it drives the guard and the sidebar (FRONTEND.md §2.1). Every view is lazy-loaded.
import type { RouteRecordRaw } from 'vue-router'
import BasicLayout from '@/layouts/BasicLayout.vue'
import BlankLayout from '@/layouts/BlankLayout.vue'

export const appRoutes: RouteRecordRaw[] = [
  {
    path: 'workspace',
    name: 'workspace',
    component: () => import('@/views/workspace/WorkspaceView.vue'),
    meta: { title: '工作台', icon: 'HomeFilled', order: 1 },
  },
  {
    path: 'alerts',
    name: 'alerts',
    component: () => import('@/views/alerts/AlertInbox.vue'),
    meta: { title: '预警', icon: 'BellFilled', order: 2, roles: ['admin', 'leader', 'duty'] },
  },
  {
    path: 'tickets',
    name: 'tickets',
    component: () => import('@/views/tickets/TicketQueue.vue'),
    meta: { title: '工单', icon: 'Tickets', order: 3 },
  },
  {
    path: 'tickets/:id(\\d+)',
    name: 'ticket',
    component: () => import('@/views/tickets/TicketWorkspace.vue'),
    meta: { title: '工单详情', hidden: true },
  },
  {
    path: 'review',
    name: 'review',
    component: () => import('@/views/tickets/ReviewQueue.vue'),
    meta: { title: '待我签发', icon: 'Stamp', order: 4, roles: ['leader', 'admin'] },
  },
  {
    path: 'mentions',
    name: 'mentions',
    component: () => import('@/views/mentions/MentionSearch.vue'),
    meta: { title: '信息检索', icon: 'Search', order: 5 },
  },
  {
    path: 'events/:id(\\d+)',
    name: 'event',
    component: () => import('@/views/events/EventDetail.vue'),
    meta: { title: '事件详情', hidden: true },
  },
  {
    path: 'tracks',
    name: 'tracks',
    component: () => import('@/views/tracks/TrackList.vue'),
    meta: { title: '专题', icon: 'Flag', order: 5.5, roles: ['admin', 'leader', 'duty'] },
  },
  {
    path: 'tracks/:id(\\d+)',
    name: 'track',
    component: () => import('@/views/tracks/TrackDetail.vue'),
    meta: { title: '专题详情', hidden: true, roles: ['admin', 'leader', 'duty'] },
  },
  {
    path: 'dashboard',
    name: 'dashboard',
    component: () => import('@/views/dashboard/LeaderDashboard.vue'),
    meta: { title: '领导看板', icon: 'DataAnalysis', order: 6, roles: ['leader', 'admin', 'duty'] },
  },
  {
    path: 'reports',
    name: 'reports',
    component: () => import('@/views/reports/ReportsView.vue'),
    meta: { title: '报表', icon: 'Document', order: 7 },
  },
  {
    path: 'duty',
    name: 'duty',
    component: () => import('@/views/duty/DutyRoster.vue'),
    meta: { title: '值班', icon: 'Calendar', order: 8, roles: ['admin', 'leader', 'duty'] },
  },
  {
    path: 'intake',
    name: 'intake',
    component: () => import('@/views/intake/IntakeView.vue'),
    meta: { title: '来电登记', icon: 'Phone', order: 9, roles: ['admin', 'duty'] },
  },
  {
    path: 'admin/users',
    name: 'admin-users',
    component: () => import('@/views/admin/UsersView.vue'),
    meta: { title: '用户', icon: 'User', order: 20, group: '系统管理', roles: ['admin'] },
  },
  {
    path: 'admin/units',
    name: 'admin-units',
    component: () => import('@/views/admin/UnitsView.vue'),
    meta: { title: '单位与岗位', icon: 'OfficeBuilding', order: 21, group: '系统管理', roles: ['admin'] },
  },
  {
    path: 'admin/sources',
    name: 'admin-sources',
    component: () => import('@/views/admin/SourcesView.vue'),
    meta: { title: '监测源', icon: 'Connection', order: 22, group: '系统管理', roles: ['admin'] },
  },
  {
    path: 'admin/channels',
    name: 'admin-channels',
    component: () => import('@/views/admin/ChannelsView.vue'),
    meta: { title: '通知渠道', icon: 'Message', order: 23, group: '系统管理', roles: ['admin'] },
  },
  {
    path: 'admin/calendar',
    name: 'admin-calendar',
    component: () => import('@/views/admin/CalendarView.vue'),
    meta: { title: '节假日', icon: 'Calendar', order: 24, group: '系统管理', roles: ['admin'] },
  },
  {
    path: 'admin/taxonomy',
    name: 'admin-taxonomy',
    component: () => import('@/views/admin/TaxonomyView.vue'),
    meta: { title: '话题与地名', icon: 'CollectionTag', order: 25, group: '系统管理', roles: ['admin'] },
  },
]

export const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    component: BlankLayout,
    children: [
      { path: '', name: 'login', component: () => import('@/views/login/LoginView.vue'), meta: { title: '登录', public: true } },
    ],
  },
  {
    path: '/403',
    component: BlankLayout,
    children: [{ path: '', name: '403', component: () => import('@/views/error/ForbiddenView.vue'), meta: { title: '无权限', public: true } }],
  },
  {
    path: '/',
    component: BasicLayout,
    redirect: '/workspace',
    children: appRoutes,
  },
  {
    path: '/:pathMatch(.*)*',
    component: BlankLayout,
    children: [{ path: '', name: '404', component: () => import('@/views/error/NotFoundView.vue'), meta: { title: '页面不存在', public: true } }],
  },
]
