import { createPinia } from 'pinia'
import { createApp, watch } from 'vue'
import App from './App.vue'
import { currentPath, isAdminPath, listenToHistory } from './router'
import { STATUS_LABELS } from './labels'
import { useAccountStore } from './stores/account'
import { useConfigStore } from './stores/config'
import { useEventsStore } from './stores/events'
import { jobLabel, useJobsStore } from './stores/jobs'
import { useNoticesStore } from './stores/notices'
import { usePreferencesStore } from './stores/preferences'
import { followUserPreferences } from './userPreferences'
import { useThemesStore } from './stores/themes'
import './styles/tokens.css'
import './styles/base.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)

// Colour mode first, so the page is drawn in the right colours from the start.
const prefs = usePreferencesStore(pinia)
prefs.bindDocument()

// Then the theme for that mode: the person's pick or the admin's default, as a stylesheet from
// the API (built-in and custom themes alike), applied once it has loaded.
const themes = useThemesStore(pinia)
themes.bindDocument()
void themes.load()

const config = useConfigStore(pinia)
const account = useAccountStore(pinia)
const loaded = config.load().then(async (c) => {
  prefs.applyServerDefault(c.theme_default_mode)
  await account.load(c.auth_mode ?? 'none', c.accounts_setup_required ?? false)
  if (account.user) await followPreferences()
})
// A logged-in user's choices are theirs on every device (issue 14).
function followPreferences(): Promise<void> {
  return followUserPreferences(() => {
    prefs.reload()
    themes.reload()
  })
}

// Say out loud when a download ends (the live region is polite: it waits its turn).
const jobs = useJobsStore(pinia)
const notices = useNoticesStore(pinia)
jobs.onStatusChange((job, previous) => {
  if (job.status === previous) return
  if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') {
    notices.announce(`${STATUS_LABELS[job.status]}: ${jobLabel(job)}`)
  }
})

// The tab's title says how many downloads are running.
watch(
  () => jobs.counts.active,
  (n) => {
    document.title = n > 0 ? `(${n}) media-rip` : 'media-rip'
  },
)

// The single live connection for the whole app; the admin panel (/admin) has no use for it.
listenToHistory()
// With accounts (issue 14), only once someone is logged in: the stream is theirs.
const events = useEventsStore(pinia)
void loaded.then(() => {
  if (!isAdminPath(currentPath.value) && account.canUse) events.connect()
})
watch(
  () => account.logins,
  () => {
    void followPreferences()
    if (!isAdminPath(currentPath.value)) events.connect()
  },
)

app.mount('#app')

// The service worker keeps the app shell for offline starts of the installed app (public/sw.js;
// it never touches the API). Only in a build: the dev server's modules are not a shell.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err: unknown) => {
      console.warn('media-rip: no service worker;', err)
    })
  })
}
