import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// Built assets are served by the FastAPI app under /app-assets/ (see dashboards/web.py).
export default defineConfig({
  base: '/',
  plugins: [vue()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  server: {
    port: 5173,
    proxy: { '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false } },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1200,
    // No inline modulepreload polyfill: the CSP forbids inline scripts and every target browser has modulepreload.
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (!id.includes('node_modules')) return undefined
          if (id.includes('echarts') || id.includes('zrender')) return 'echarts'
          if (id.includes('element-plus') || id.includes('@element-plus')) return 'element-plus'
          if (/node_modules\/(@vue|vue|vue-router|pinia)\//.test(id)) return 'vue'
          return 'vendor'
        },
      },
    },
  },
  test: { environment: 'happy-dom', include: ['src/**/*.test.ts'] },
})
