import { ref } from 'vue'
import { ElMessage } from 'element-plus'
import { ApiError } from '@/api/client'
import { download } from '@/utils/download'

/** A download button's state: loading flag, and errors shown once. */
export function useDownload() {
  const downloading = ref(false)
  async function run(url: string, fallbackName: string): Promise<void> {
    downloading.value = true
    try {
      const name = await download(url, fallbackName)
      ElMessage.success(`已下载 ${name}`)
    } catch (e) {
      if (!(e instanceof ApiError && e.handled)) ElMessage.error(e instanceof Error ? e.message : '下载失败')
    } finally {
      downloading.value = false
    }
  }
  return { downloading, run }
}
