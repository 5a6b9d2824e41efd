// Themes: which dark theme and which light theme this browser uses, and putting the one for the
// effective colour mode on the page.
//
// The list and the admin's defaults come from GET /api/themes. The person's picks are kept in
// localStorage (`mediarip.theme`: {dark?, light?}); someone who never picked gets the admin's
// defaults. The last defaults seen are kept too (`mediarip.themeDefaults`), so a returning visitor
// gets them at once rather than after the list arrives.
//
// Every theme, built-in or custom, is a stylesheet served by the API and scoped to
// `:root[data-theme="<id>"]`. bindDocument() adds a <link rel="stylesheet"> for the dark and the
// light choice (so switching the mode is instant), and sets data-theme on <html> once the
// stylesheet for the effective mode has loaded: until then tokens.css keeps its own colours for
// the mode, never a half-styled page. A same-origin <link> is all the CSP needs: nothing inline.

import { defineStore } from 'pinia'
import { computed, reactive, ref, watch } from 'vue'
import { getThemes, themeCssUrl } from '../api'
import { loadJSON, saveJSON } from '../storage'
import type { ThemeFamily, ThemeInfo } from '../types'
import { usePreferencesStore } from './preferences'

/** The built-ins that always exist: what a missing or unknown choice falls back to. */
export const FALLBACK_THEMES: Readonly<Record<ThemeFamily, string>> = { dark: 'dark', light: 'light' }

const FAMILIES: readonly ThemeFamily[] = ['dark', 'light']
const THEME_ID = /^[a-z0-9][a-z0-9_-]{0,39}$/

type Picks = Partial<Record<ThemeFamily, string>>

const isThemeId = (v: unknown): v is string => typeof v === 'string' && THEME_ID.test(v)
const isPicks = (v: unknown): v is Picks =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  FAMILIES.every((f) => (v as Record<string, unknown>)[f] === undefined || isThemeId((v as Record<string, unknown>)[f]))
const isFamilyPair = (v: unknown): v is Record<ThemeFamily, string> =>
  isPicks(v) && FAMILIES.every((f) => typeof v[f] === 'string')

export const useThemesStore = defineStore('themes', () => {
  const prefs = usePreferencesStore()
  const themes = ref<ThemeInfo[]>([])
  /** True once the server's list has arrived; until then every remembered id is trusted. */
  const loaded = ref(false)
  const defaults = reactive<Record<ThemeFamily, string>>(
    loadJSON('themeDefaults', { ...FALLBACK_THEMES }, isFamilyPair),
  )
  const picked = reactive<Picks>(loadJSON('theme', {}, isPicks))

  const families = computed<Record<ThemeFamily, ThemeInfo[]>>(() => ({
    dark: themes.value.filter((t) => t.mode === 'dark'),
    light: themes.value.filter((t) => t.mode === 'light'),
  }))

  function exists(id: string | undefined, family: ThemeFamily): id is string {
    if (!id) return false
    if (!loaded.value) return true
    return themes.value.some((t) => t.id === id && t.mode === family)
  }

  /** The theme used in ``family`` mode: the person's pick, else the admin's default, else the
   *  built-in of that mode. */
  function themeFor(family: ThemeFamily): string {
    if (exists(picked[family], family)) return picked[family] as string
    if (exists(defaults[family], family)) return defaults[family]
    return FALLBACK_THEMES[family]
  }

  const darkTheme = computed(() => themeFor('dark'))
  const lightTheme = computed(() => themeFor('light'))
  /** The theme on screen now, following the effective colour mode (system, dark or light). */
  const activeTheme = computed(() => (prefs.resolvedMode === 'dark' ? darkTheme.value : lightTheme.value))

  function pick(family: ThemeFamily, id: string): void {
    if (!isThemeId(id)) return
    picked[family] = id
    saveJSON('theme', { ...picked })
  }

  function find(id: string): ThemeInfo | undefined {
    return themes.value.find((t) => t.id === id)
  }

  async function load(): Promise<void> {
    try {
      const data = await getThemes()
      themes.value = Array.isArray(data.themes) ? data.themes.filter((t) => isThemeId(t.id)) : []
      for (const f of FAMILIES) {
        const id = data.defaults?.[f]
        defaults[f] = isThemeId(id) ? id : FALLBACK_THEMES[f]
      }
      saveJSON('themeDefaults', { ...defaults })
      loaded.value = true
    } catch (err) {
      console.warn('media-rip: could not load the themes;', err)
    }
  }

  /**
   * Keep the theme stylesheets in <head> and data-theme on <html> in step with the choices and
   * the colour mode. Returns a function that stops doing so.
   */
  function bindDocument(
    root: HTMLElement = document.documentElement,
    head: HTMLElement = document.head,
  ): () => void {
    const links = new Map<string, HTMLLinkElement>()
    const ready = new Set<string>()

    function apply(): void {
      const want = activeTheme.value
      if (!ready.has(want)) return // the current colours stay until the new ones are here
      root.dataset.theme = want
      const keep = new Set([darkTheme.value, lightTheme.value, want])
      for (const [id, link] of links) {
        if (!keep.has(id)) {
          link.remove()
          links.delete(id)
          ready.delete(id)
        }
      }
    }

    function stylesheet(id: string): void {
      if (links.has(id)) return
      const link = document.createElement('link')
      link.rel = 'stylesheet'
      link.href = themeCssUrl(id)
      link.dataset.themeCss = id
      link.addEventListener('load', () => {
        if (links.get(id) !== link) return
        ready.add(id)
        apply()
      })
      link.addEventListener('error', () => {
        // Forget it, so that a later change may try again; tokens.css keeps the mode's colours.
        if (links.get(id) === link) links.delete(id)
        link.remove()
      })
      links.set(id, link)
      head.appendChild(link)
    }

    const stop = watch(
      [darkTheme, lightTheme, activeTheme],
      () => {
        stylesheet(activeTheme.value)
        stylesheet(darkTheme.value)
        stylesheet(lightTheme.value)
        apply()
      },
      { immediate: true },
    )
    return () => {
      stop()
      for (const link of links.values()) link.remove()
      links.clear()
    }
  }

  /** Read the remembered picks again (a logged-in user's, just fetched from the server). */
  function reload(): void {
    const again = loadJSON('theme', {}, isPicks)
    for (const family of Object.keys(picked) as ThemeFamily[]) delete picked[family]
    Object.assign(picked, again)
  }

  return {
    reload,
    themes,
    loaded,
    defaults,
    picked,
    families,
    darkTheme,
    lightTheme,
    activeTheme,
    themeFor,
    pick,
    find,
    load,
    bindDocument,
  }
})
