// ECharts from echarts/core with only what we draw registered (FRONTEND.md §2.11).
import * as echarts from 'echarts/core'
import { BarChart, LineChart, PieChart } from 'echarts/charts'
import { AriaComponent, DatasetComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([BarChart, LineChart, PieChart, AriaComponent, DatasetComponent, GridComponent, LegendComponent,
  TooltipComponent, CanvasRenderer])

export type EChartsOption = echarts.EChartsCoreOption
export { echarts }

export const PALETTE = ['#1f5fbf', '#b3261e', '#256f2a', '#975a00', '#6d28d9', '#0e7490', '#be185d', '#5f6368']
