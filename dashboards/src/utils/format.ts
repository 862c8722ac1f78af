// Beijing time everywhere, whatever the browser's zone; zh-CN words.
import dayjs from 'dayjs'
import utc from 'dayjs/plugin/utc'
import timezone from 'dayjs/plugin/timezone'
import relativeTime from 'dayjs/plugin/relativeTime'
import 'dayjs/locale/zh-cn'

dayjs.extend(utc)
dayjs.extend(timezone)
dayjs.extend(relativeTime)
dayjs.locale('zh-cn')

export const TZ = 'Asia/Shanghai'

type TimeInput = string | number | Date | null | undefined

export function bj(value: TimeInput): dayjs.Dayjs | null {
  if (value === null || value === undefined || value === '') return null
  const d = dayjs(value)
  return d.isValid() ? d.tz(TZ) : null
}

/** 2026-03-02 12:00 (Beijing) */
export function formatTime(value: TimeInput, empty = '—'): string {
  return bj(value)?.format('YYYY-MM-DD HH:mm') ?? empty
}

export function formatDate(value: TimeInput, empty = '—'): string {
  return bj(value)?.format('YYYY-MM-DD') ?? empty
}

export function formatClock(value: TimeInput): string {
  return bj(value)?.format('MM月DD日 HH:mm') ?? ''
}

/** 剩余/超期 from a due time the API computed; the UI never computes working days. */
export function remaining(due: TimeInput, now: number = Date.now()): { text: string; overdue: boolean } {
  const d = bj(due)
  if (!d) return { text: '—', overdue: false }
  const minutes = Math.round((d.valueOf() - now) / 60000)
  const overdue = minutes < 0
  return { text: `${overdue ? '已超期' : '剩余'}${humanMinutes(Math.abs(minutes))}`, overdue }
}

export function humanMinutes(total: number): string {
  if (total < 60) return `${total}分钟`
  const hours = Math.floor(total / 60)
  if (hours < 48) return `${hours}小时${total % 60 ? `${total % 60}分` : ''}`
  const days = Math.floor(hours / 24)
  return `${days}天${hours % 24 ? `${hours % 24}小时` : ''}`
}

export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—'
  return n >= 10000 ? `${(n / 10000).toFixed(1)}万` : String(n)
}
