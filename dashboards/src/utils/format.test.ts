import { describe, expect, it } from 'vitest'
import { formatTime, humanMinutes, remaining } from './format'
import { splitHighlight } from './highlight'
import { filenameFrom } from './download'

describe('format', () => {
  it('shows Beijing time whatever the browser zone', () => {
    expect(formatTime('2026-03-01T17:30:00Z')).toBe('2026-03-02 01:30')
    expect(formatTime(null)).toBe('—')
  })

  it('says what remains or how late, from the due time the API gave', () => {
    const now = Date.parse('2026-03-02T00:00:00Z')
    expect(remaining('2026-03-02T02:30:00Z', now)).toEqual({ text: '剩余2小时30分', overdue: false })
    expect(remaining('2026-03-01T23:50:00Z', now)).toEqual({ text: '已超期10分钟', overdue: true })
    expect(humanMinutes(60 * 24 * 3 + 60)).toBe('3天1小时')
  })
})

describe('highlight', () => {
  it('marks keywords as parts, treating regex characters literally', () => {
    expect(splitHighlight('停车(收费)太贵', ['(收费)'])).toEqual([
      { text: '停车', hit: false }, { text: '(收费)', hit: true }, { text: '太贵', hit: false },
    ])
    expect(splitHighlight('<script>', ['x'])).toEqual([{ text: '<script>', hit: false }])
  })
})

describe('download names', () => {
  it('reads the UTF-8 file name of Content-Disposition', () => {
    expect(filenameFrom("attachment; filename*=UTF-8''%E5%8F%B0%E8%B4%A6.xlsx", 'x')).toBe('台账.xlsx')
    expect(filenameFrom('attachment; filename="ledger.csv"', 'x')).toBe('ledger.csv')
    expect(filenameFrom(null, 'fallback.csv')).toBe('fallback.csv')
  })
})
