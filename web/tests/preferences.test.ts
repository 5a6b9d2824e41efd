import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import { usePreferencesStore } from '../src/stores/preferences'

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
})

describe('preferences', () => {
  it('start from defaults and survive a reload', () => {
    const prefs = usePreferencesStore()
    expect(prefs.mode).toBe('system')
    expect(prefs.mediaType).toBe('video')
    prefs.setMode('dark')
    prefs.setMediaType('audio')
    prefs.setFormatChoice('audio', 'q:192')
    prefs.setOutputFormat('audio', 'flac')

    setActivePinia(createPinia())
    const again = usePreferencesStore()
    expect(again.mode).toBe('dark')
    expect(again.mediaType).toBe('audio')
    expect(again.formatChoice.audio).toBe('q:192')
    expect(again.outputFormat.audio).toBe('flac')
    expect(again.outputFormat.video).toBe('mp4')
  })

  it('ignore junk in storage', () => {
    localStorage.setItem('mediarip.mode', '"purple"')
    localStorage.setItem('mediarip.outputFormat', '{"video": 3}')
    localStorage.setItem('mediarip.mediaType', 'not json')
    const prefs = usePreferencesStore()
    expect(prefs.mode).toBe('system')
    expect(prefs.outputFormat).toEqual({ video: 'mp4', audio: 'mp3' })
    expect(prefs.mediaType).toBe('video')
  })

  it('take the server\'s default mode until the person chooses', () => {
    const prefs = usePreferencesStore()
    prefs.applyServerDefault('dark')
    expect(prefs.resolvedMode).toBe('dark')
    prefs.setMode('light')
    prefs.applyServerDefault('dark')
    expect(prefs.mode).toBe('light')
  })

  it('set data-mode on the document, following the system in "system" mode', async () => {
    const prefs = usePreferencesStore()
    const root = document.createElement('html')
    const stop = prefs.bindDocument(root)
    prefs.systemDark = true
    prefs.setMode('system')
    await nextTick()
    expect(root.dataset.mode).toBe('dark')
    prefs.systemDark = false
    await nextTick()
    expect(root.dataset.mode).toBe('light')
    prefs.setMode('dark')
    await nextTick()
    expect(root.dataset.mode).toBe('dark')
    stop()
  })
})
