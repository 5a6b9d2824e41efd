// The app's two places: the download page at `/` and the admin panel at `/admin` (its pages at
// `/admin/<page>`). The server answers index.html for every path outside /api, so a reload or a
// bookmark lands on the right page. Moving between admin pages uses the History API; the links
// between the download page and the panel are ordinary links (a full page load).

import { ref } from 'vue'

export const ADMIN_PAGES = [
  'overview',
  'sessions',
  'storage',
  'errors',
  'purge',
  'ytdlp',
  'settings',
  'presets',
  'notifications',
  'users',
  'password',
  'apikey',
] as const

export type AdminPage = (typeof ADMIN_PAGES)[number]

export const ADMIN_PAGE_TITLES: Record<AdminPage, string> = {
  overview: 'Overview',
  sessions: 'Sessions',
  storage: 'Storage',
  errors: 'Error log',
  purge: 'Purge',
  ytdlp: 'yt-dlp',
  settings: 'Settings',
  presets: 'Presets',
  notifications: 'Notifications',
  users: 'Users',
  password: 'Password',
  apikey: 'API key',
}

const SLUGS: Record<AdminPage, string> = {
  overview: '',
  sessions: 'sessions',
  storage: 'storage',
  errors: 'errors',
  purge: 'purge',
  ytdlp: 'yt-dlp',
  settings: 'settings',
  presets: 'presets',
  notifications: 'notifications',
  users: 'users',
  password: 'password',
  apikey: 'api-key',
}

function currentPathname(): string {
  try {
    return globalThis.location?.pathname || '/'
  } catch {
    return '/'
  }
}

/** The path shown in the address bar. */
export const currentPath = ref(currentPathname())

let listening = false

/** Follow the browser's back and forward buttons. */
export function listenToHistory(): void {
  if (listening || typeof window === 'undefined') return
  listening = true
  window.addEventListener('popstate', () => {
    currentPath.value = currentPathname()
  })
}

/** The subscriptions page (a full page of its own, like the admin panel). */
export const SUBSCRIPTIONS_PATH = '/subscriptions'

export function isSubscriptionsPath(path: string): boolean {
  return path.replace(/\/+$/, '') === SUBSCRIPTIONS_PATH
}

/** Ways to add from anywhere: the bookmarklet, an iOS Shortcut, curl. */
export const ANYWHERE_PATH = '/add-anywhere'

export function isAnywherePath(path: string): boolean {
  return path.replace(/\/+$/, '') === ANYWHERE_PATH
}

/** The account pages (issue 14): `/account` (my API keys) and `/account/password`. */
export type AccountPage = 'keys' | 'password'

export function isAccountPath(path: string): boolean {
  return path === '/account' || path.startsWith('/account/')
}

export function accountPageOf(path: string): AccountPage {
  return path.replace(/\/+$/, '') === '/account/password' ? 'password' : 'keys'
}

export function isAdminPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/')
}

/** The admin page a path shows (unknown pages show the overview). */
export function adminPageOf(path: string): AdminPage {
  const slug = path.replace(/^\/admin\/?/, '').replace(/\/+$/, '')
  const found = ADMIN_PAGES.find((page) => SLUGS[page] === slug)
  return found ?? 'overview'
}

export function adminHref(page: AdminPage): string {
  return SLUGS[page] ? `/admin/${SLUGS[page]}` : '/admin'
}

/** Go to `path` inside the app without a page load. */
export function navigate(path: string): void {
  if (path === currentPath.value) return
  try {
    history.pushState(null, '', path)
  } catch {
    // A document without a real URL (tests): keep the in-memory path only.
  }
  currentPath.value = path
}
