import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import ThemePicker from '../src/components/ThemePicker.vue'
import { usePreferencesStore } from '../src/stores/preferences'
import { FALLBACK_THEMES, useThemesStore } from '../src/stores/themes'
import type { ThemeInfo, ThemeList } from '../src/types'
import { jsonResponse } from './helpers'

function theme(id: string, mode: 'dark' | 'light', builtin = true): ThemeInfo {
  return { id, name: id[0].toUpperCase() + id.slice(1), mode, description: `${id} theme`, author: '', builtin, has_preview: false }
}

const LIST: ThemeList = {
  themes: [
    theme('cyberpunk', 'dark'),
    theme('dark', 'dark'),
    theme('midnight', 'dark'),
    theme('light', 'light'),
    theme('paper', 'light'),
    theme('ocean', 'dark', false),
  ],
  defaults: { dark: 'cyberpunk', light: 'paper', mode: 'system' },
}

function serve(list: ThemeList = LIST): ReturnType<typeof vi.fn> {
  const fetch = vi.fn(async (url: string) => (url === '/api/themes' ? jsonResponse(200, list) : jsonResponse(404, {})))
  vi.stubGlobal('fetch', fetch)
  return fetch
}

/** A fresh page load: new Pinia, same localStorage. */
function reload(): ReturnType<typeof useThemesStore> {
  setActivePinia(createPinia())
  return useThemesStore()
}

function links(head: HTMLElement): string[] {
  return [...head.querySelectorAll('link[rel="stylesheet"]')].map((l) => l.getAttribute('href') ?? '')
}

function loadSheet(head: HTMLElement, id: string): void {
  const link = head.querySelector(`link[data-theme-css="${id}"]`)
  expect(link, `a stylesheet for ${id}`).not.toBeNull()
  link?.dispatchEvent(new Event('load'))
}

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
})

describe('the themes store', () => {
  it('uses the built-in dark and light themes before anything is known', () => {
    const themes = useThemesStore()
    expect(themes.themeFor('dark')).toBe(FALLBACK_THEMES.dark)
    expect(themes.themeFor('light')).toBe(FALLBACK_THEMES.light)
  })

  it("applies the admin's defaults to a visitor who never picked, and remembers them", async () => {
    serve()
    const themes = useThemesStore()
    await themes.load()
    expect(themes.loaded).toBe(true)
    expect(themes.themeFor('dark')).toBe('cyberpunk')
    expect(themes.themeFor('light')).toBe('paper')
    expect(themes.families.dark.map((t) => t.id)).toEqual(['cyberpunk', 'dark', 'midnight', 'ocean'])
    expect(themes.families.light.map((t) => t.id)).toEqual(['light', 'paper'])

    // Next visit: the defaults apply at once, before the list arrives.
    vi.stubGlobal('fetch', vi.fn(() => new Promise(() => {})))
    const again = reload()
    expect(again.themeFor('dark')).toBe('cyberpunk')
    expect(again.themeFor('light')).toBe('paper')
  })

  it('keeps what the person picked, per family, across a reload', async () => {
    serve()
    const themes = useThemesStore()
    await themes.load()
    themes.pick('dark', 'midnight')
    themes.pick('light', 'light')
    expect(themes.themeFor('dark')).toBe('midnight')
    expect(JSON.parse(localStorage.getItem('mediarip.theme') ?? '{}')).toEqual({ dark: 'midnight', light: 'light' })

    const again = reload()
    expect(again.themeFor('dark')).toBe('midnight')
    expect(again.themeFor('light')).toBe('light')
    await again.load()
    expect(again.themeFor('dark')).toBe('midnight')
  })

  it('falls back when a pick or a default no longer exists or has the wrong mode', async () => {
    localStorage.setItem('mediarip.theme', JSON.stringify({ dark: 'gone', light: 'midnight' }))
    serve({ ...LIST, defaults: { dark: 'paper', light: 'nothing', mode: 'system' } })
    const themes = useThemesStore()
    await themes.load()
    expect(themes.themeFor('dark')).toBe('dark')
    expect(themes.themeFor('light')).toBe('light')
  })

  it('ignores junk in storage', () => {
    localStorage.setItem('mediarip.theme', '{"dark": "../../etc", "light": 3}')
    localStorage.setItem('mediarip.themeDefaults', 'not json')
    const themes = useThemesStore()
    expect(themes.themeFor('dark')).toBe('dark')
    expect(themes.themeFor('light')).toBe('light')
    themes.pick('dark', 'Bad Id')
    expect(themes.themeFor('dark')).toBe('dark')
  })

  it('follows the effective colour mode: system, dark, light', async () => {
    serve()
    const prefs = usePreferencesStore()
    const themes = useThemesStore()
    await themes.load()
    prefs.systemDark = true
    prefs.setMode('system')
    expect(themes.activeTheme).toBe('cyberpunk')
    prefs.systemDark = false
    expect(themes.activeTheme).toBe('paper')
    prefs.setMode('dark')
    expect(themes.activeTheme).toBe('cyberpunk')
    themes.pick('dark', 'ocean')
    expect(themes.activeTheme).toBe('ocean')
    prefs.setMode('light')
    expect(themes.activeTheme).toBe('paper')
  })

  it('keeps the old list and defaults when the server cannot be reached', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(500, {})))
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const themes = useThemesStore()
    await themes.load()
    expect(themes.loaded).toBe(false)
    expect(themes.themeFor('dark')).toBe('dark')
  })
})

describe('the document', () => {
  it('links the stylesheets and sets data-theme once the active one has loaded', async () => {
    serve()
    const prefs = usePreferencesStore()
    prefs.setMode('dark')
    const themes = useThemesStore()
    await themes.load()
    const root = document.createElement('html')
    const head = document.createElement('head')
    const stop = themes.bindDocument(root, head)

    expect(links(head)).toEqual(['/api/themes/cyberpunk/theme.css', '/api/themes/paper/theme.css'])
    expect(root.dataset.theme).toBeUndefined() // tokens.css colours until the sheet is here
    loadSheet(head, 'cyberpunk')
    expect(root.dataset.theme).toBe('cyberpunk')

    // Switching the mode is instant: the light sheet is already there.
    loadSheet(head, 'paper')
    prefs.setMode('light')
    await nextTick()
    expect(root.dataset.theme).toBe('paper')

    // A new pick: the old theme stays on screen until the new sheet loads, then goes.
    themes.pick('light', 'light')
    await nextTick()
    expect(root.dataset.theme).toBe('paper')
    expect(links(head)).toContain('/api/themes/light/theme.css')
    loadSheet(head, 'light')
    expect(root.dataset.theme).toBe('light')
    expect(links(head)).toEqual(['/api/themes/cyberpunk/theme.css', '/api/themes/light/theme.css'])

    stop()
    expect(links(head)).toEqual([])
  })

  it('forgets a stylesheet that failed, so a later change can try again', async () => {
    const themes = useThemesStore()
    const root = document.createElement('html')
    const head = document.createElement('head')
    usePreferencesStore().setMode('dark')
    themes.bindDocument(root, head)
    head.querySelector('link[data-theme-css="dark"]')?.dispatchEvent(new Event('error'))
    expect(links(head)).toEqual(['/api/themes/light/theme.css'])
    expect(root.dataset.theme).toBeUndefined()
  })
})

describe('the theme picker', () => {
  it('lists each family in a labelled select and keeps the choice', async () => {
    serve()
    const prefs = usePreferencesStore()
    prefs.setMode('dark')
    const themes = useThemesStore()
    await themes.load()
    const wrapper = mount(ThemePicker, { attachTo: document.body })
    const button = wrapper.get('[data-testid="theme-button"]')
    expect(button.attributes('aria-expanded')).toBe('false')
    await button.trigger('click')
    expect(button.attributes('aria-expanded')).toBe('true')

    const dark = wrapper.get('[data-testid="theme-select-dark"]')
    const light = wrapper.get('[data-testid="theme-select-light"]')
    expect(wrapper.get('label[for="theme-select-dark"]').text()).toContain('Dark mode theme')
    expect(wrapper.get('label[for="theme-select-dark"]').text()).toContain('in use now')
    expect(wrapper.get('label[for="theme-select-light"]').text()).not.toContain('in use now')
    expect(dark.findAll('option').map((o) => o.text())).toEqual(['Cyberpunk', 'Dark', 'Midnight', 'Ocean (custom)'])
    expect(light.findAll('option').map((o) => o.attributes('value'))).toEqual(['light', 'paper'])
    expect((dark.element as HTMLSelectElement).value).toBe('cyberpunk')

    await dark.setValue('midnight')
    expect(themes.themeFor('dark')).toBe('midnight')
    expect(themes.activeTheme).toBe('midnight')
    expect(wrapper.get('#theme-hint-dark').text()).toBe('midnight theme')

    await dark.trigger('keydown', { key: 'Escape' })
    await flushPromises()
    expect(wrapper.find('[data-testid="theme-panel"]').exists()).toBe(false)
    expect(document.activeElement).toBe(button.element)
    wrapper.unmount()
  })
})
