// Downloads are fetched as a blob with the bearer header; the name comes from Content-Disposition (§2.15).
import { authFetch } from '@/api/client'

export function filenameFrom(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback
  const star = /filename\*=(?:UTF-8'')?([^;]+)/i.exec(disposition)
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''))
    } catch {
      /* fall through */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition)
  return plain?.[1] ?? fallback
}

export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** GET url with the login; a JSON answer (an error) raises instead of being saved. Returns the file name. */
export async function download(url: string, fallbackName: string): Promise<string> {
  const response = await authFetch(url)
  const type = response.headers.get('Content-Type') ?? ''
  if (type.includes('application/json') && !fallbackName.endsWith('.json')) {
    const body = (await response.json()) as { detail?: string }
    throw new Error(body.detail ?? '下载失败')
  }
  const name = filenameFrom(response.headers.get('Content-Disposition'), fallbackName)
  saveBlob(await response.blob(), name)
  return name
}
