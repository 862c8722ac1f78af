// Split text into plain and matched parts; the template renders them as text nodes and <mark> (never v-html).
export interface Part {
  text: string
  hit: boolean
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export function splitHighlight(text: string, keywords: string[]): Part[] {
  const words = keywords.map((k) => k.trim()).filter(Boolean)
  if (!text || words.length === 0) return [{ text: text ?? '', hit: false }]
  const re = new RegExp(`(${words.map(escapeRegExp).join('|')})`, 'gi')
  return text
    .split(re)
    .filter((t) => t !== '')
    .map((t) => ({ text: t, hit: words.some((w) => w.toLowerCase() === t.toLowerCase()) }))
}
