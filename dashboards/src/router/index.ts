import { createRouter, createWebHistory } from 'vue-router'
import { setNavigator } from '@/api/client'
import { installGuard } from './guard'
import { routes } from './routes'

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})
installGuard(router)
setNavigator((to) => {
  void router.push(to)
})
