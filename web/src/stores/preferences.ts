// What the person chose and expects to find again next visit: colour mode, video or audio,
// the format choice and the output format (each per media type). Persisted in localStorage.

import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import { BEST, type FormatChoice } from '../formats'
import { hasKey, loadJSON, saveJSON } from '../storage'
import type { MediaType, ThemeMode } from '../types'

const isMode = (v: unknown): v is ThemeMode => v === 'system' || v === 'dark' || v === 'light'
const isMediaType = (v: unknown): v is MediaType => v === 'video' || v === 'audio'
const isStringPair = (v: unknown): v is Record<MediaType, string> =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Record<string, unknown>).video === 'string' &&
  typeof (v as Record<string, unknown>).audio === 'string'

export const DEFAULT_OUTPUT: Record<MediaType, string> = { video: 'mp4', audio: 'mp3' }

function systemPrefersDark(): boolean {
  try {
    return globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false
  } catch {
    return false
  }
}

export const usePreferencesStore = defineStore('preferences', () => {
  const mode = ref<ThemeMode>(loadJSON('mode', 'system', isMode))
  const modeChosen = ref(hasKey('mode'))
  const mediaType = ref<MediaType>(loadJSON('mediaType', 'video', isMediaType))
  const formatChoice = reactive<Record<MediaType, FormatChoice>>(
    loadJSON('formatChoice', { video: BEST, audio: BEST }, isStringPair),
  )
  const outputFormat = reactive<Record<MediaType, string>>(
    loadJSON('outputFormat', { ...DEFAULT_OUTPUT }, isStringPair),
  )
  const systemDark = ref(systemPrefersDark())

  const resolvedMode = computed<'dark' | 'light'>(() =>
    mode.value === 'system' ? (systemDark.value ? 'dark' : 'light') : mode.value,
  )

  function setMode(m: ThemeMode): void {
    mode.value = m
    modeChosen.value = true
    saveJSON('mode', m)
  }

  /** The server's default applies until the person picks a mode themselves. */
  function applyServerDefault(m: ThemeMode): void {
    if (!modeChosen.value && isMode(m)) mode.value = m
  }

  function setMediaType(t: MediaType): void {
    mediaType.value = t
    saveJSON('mediaType', t)
  }

  function setFormatChoice(t: MediaType, choice: FormatChoice): void {
    formatChoice[t] = choice
    saveJSON('formatChoice', { ...formatChoice })
  }

  function setOutputFormat(t: MediaType, ext: string): void {
    outputFormat[t] = ext
    saveJSON('outputFormat', { ...outputFormat })
  }

  /** Keep data-mode on <html> in step with the choice and with the system setting. */
  function bindDocument(root: HTMLElement = document.documentElement): () => void {
    let mql: MediaQueryList | undefined
    const onChange = (e: MediaQueryListEvent): void => {
      systemDark.value = e.matches
    }
    try {
      mql = globalThis.matchMedia?.('(prefers-color-scheme: dark)')
      mql?.addEventListener('change', onChange)
    } catch {
      mql = undefined
    }
    const stop = watch(
      resolvedMode,
      (m) => {
        root.dataset.mode = m
      },
      { immediate: true },
    )
    return () => {
      stop()
      mql?.removeEventListener('change', onChange)
    }
  }

  /** Read the remembered choices again (a logged-in user's, just fetched from the server). */
  function reload(): void {
    mode.value = loadJSON('mode', mode.value, isMode)
    modeChosen.value = hasKey('mode')
    mediaType.value = loadJSON('mediaType', mediaType.value, isMediaType)
    Object.assign(formatChoice, loadJSON('formatChoice', { ...formatChoice }, isStringPair))
    Object.assign(outputFormat, loadJSON('outputFormat', { ...outputFormat }, isStringPair))
  }

  return {
    reload,
    mode,
    mediaType,
    formatChoice,
    outputFormat,
    systemDark,
    resolvedMode,
    setMode,
    applyServerDefault,
    setMediaType,
    setFormatChoice,
    setOutputFormat,
    bindDocument,
  }
})
