// The server's public settings (GET /api/config/public), loaded once at start-up. Until they
// arrive — or if they cannot be had — the app runs on the documented defaults.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import { getPublicConfig } from '../api'
import type { PublicConfig } from '../types'

export const DEFAULT_CONFIG: PublicConfig = {
  version: '',
  session_mode: 'isolated',
  welcome_message: '',
  theme_dark: 'dark',
  theme_light: 'light',
  theme_default_mode: 'system',
  max_concurrent: 3,
  output_formats: {
    video: ['mp4', 'webm', 'mkv'],
    audio: ['mp3', 'm4a', 'opus', 'flac', 'wav'],
  },
  admin_enabled: false,
  autostart: true,
  sponsorblock_categories: [],
  share_queues: false,
  auth_mode: 'none',
  accounts_setup_required: false,
}

export const useConfigStore = defineStore('config', () => {
  const config = ref<PublicConfig>({ ...DEFAULT_CONFIG })
  const loaded = ref(false)

  async function load(): Promise<PublicConfig> {
    try {
      const data = await getPublicConfig()
      config.value = {
        ...DEFAULT_CONFIG,
        ...data,
        output_formats: {
          video: data.output_formats?.video?.length ? data.output_formats.video : DEFAULT_CONFIG.output_formats.video,
          audio: data.output_formats?.audio?.length ? data.output_formats.audio : DEFAULT_CONFIG.output_formats.audio,
        },
      }
      loaded.value = true
    } catch (err) {
      console.warn('media-rip: using default settings;', err)
    }
    return config.value
  }

  return { config, loaded, load }
})
