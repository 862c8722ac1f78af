import { defineStore } from 'pinia'
import { ref } from 'vue'

const MOBILE_QUERY = '(max-width: 991px)'

/** The office name comes from a meta tag the server fills in (dashboards/web.py). */
function readOfficeName(): string {
  const meta = document.querySelector('meta[name="yuqing-office"]')
  return meta?.getAttribute('content')?.trim() || '街道办事处'
}

export const useAppStore = defineStore('app', () => {
  const media = window.matchMedia(MOBILE_QUERY)
  const isMobile = ref(media.matches)
  const sidebarOpen = ref(!media.matches)
  const officeName = ref(readOfficeName())

  media.addEventListener('change', (e) => {
    isMobile.value = e.matches
    sidebarOpen.value = !e.matches
  })

  function toggleSidebar(): void {
    sidebarOpen.value = !sidebarOpen.value
  }
  function closeSidebarOnMobile(): void {
    if (isMobile.value) sidebarOpen.value = false
  }
  return { isMobile, sidebarOpen, officeName, toggleSidebar, closeSidebarOnMobile }
})
