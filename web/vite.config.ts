import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

// The backend (Quart-Trio, port 8000) serves the built files from web/dist/ and the API under
// /api; in development Vite serves the app and forwards /api there, SSE included.
// MEDIARIP_API points the dev server elsewhere (default: the backend's default address).
const apiTarget = process.env.MEDIARIP_API ?? 'http://127.0.0.1:8000'

export default defineConfig(({ command }) => ({
  plugins: [vue()],
  base: '/',
  define:
    command === 'build'
      ? {
          __VUE_OPTIONS_API__: 'false',
          __VUE_PROD_DEVTOOLS__: 'false',
          __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
        }
      : {},
  server: {
    port: 5173,
    proxy: {
      '/api': {
        target: apiTarget,
        changeOrigin: false,
      },
    },
  },
  preview: {
    proxy: {
      '/api': apiTarget,
    },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2022',
    // Keep every asset a file under /assets (no data: URLs, nothing inline in index.html).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
    restoreMocks: true,
    unstubGlobals: true,
    // Generous: on a 2-core machine shared with a browser suite, mounting 1,000 rows can take
    // seconds. Tests assert behaviour, never time; speed lives in bench/web_figures.py.
    testTimeout: 30_000,
  },
}))
