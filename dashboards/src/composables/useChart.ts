// One chart composable (FRONTEND.md §2.12): init when mounted and visible, debounced ResizeObserver,
// setOption for new data, dispose on unmount. Every option gets aria.enabled.
import { onBeforeUnmount, onMounted, watch, type Ref } from 'vue'
import { echarts, PALETTE, type EChartsOption } from '@/utils/echarts'

export function useChart(el: Ref<HTMLElement | null>, option: Ref<EChartsOption | null>) {
  let chart: echarts.ECharts | null = null
  let observer: ResizeObserver | null = null
  let timer: number | undefined

  function render(): void {
    if (!el.value || !option.value) return
    if (el.value.clientWidth === 0 || el.value.clientHeight === 0) return // hidden: wait for a resize
    if (!chart) chart = echarts.init(el.value, undefined, { renderer: 'canvas' })
    chart.setOption({ color: PALETTE, aria: { enabled: true }, ...option.value }, { notMerge: true })
  }

  onMounted(() => {
    observer = new ResizeObserver(() => {
      window.clearTimeout(timer)
      timer = window.setTimeout(() => {
        if (chart) chart.resize()
        else render()
      }, 120)
    })
    if (el.value) observer.observe(el.value)
    render()
  })
  watch(option, render, { deep: false })
  onBeforeUnmount(() => {
    window.clearTimeout(timer)
    observer?.disconnect()
    chart?.dispose()
    chart = null
  })
}
