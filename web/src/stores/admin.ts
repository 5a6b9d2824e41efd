// Who is at the admin panel: the server's status (setup needed, logged in, the name), first-run
// setup, login with its lock-out, logout, the password change, and what happens when the admin
// session ends under a page (a 401 anywhere sends the panel back to the login form).
//
// The lock-out: the server answers 429 with Retry-After after too many failures (login, setup
// tokens and password changes count together, per address); the store keeps the time it ends
// and a one-second clock, so the form can say "try again in N s" and keep its button disabled.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError } from '../api'
import * as adminApi from '../adminApi'
import { splitFieldMessage } from '../settingsForm'
import type { AdminStatus } from '../types'

/** A refused form: the message, and the field it is about (null: the form as a whole). */
export interface FormFailure {
  field: string | null
  message: string
  code: string
}

export type FormOutcome = { ok: true } | ({ ok: false } & FormFailure)

export const SESSION_ENDED = 'Your admin session has ended: log in again.'

export function lockMessage(seconds: number): string {
  return `Too many attempts: try again in ${seconds} s`
}

function messageOf(err: unknown): string {
  if (err instanceof Error && err.message) return err.message
  return 'Something went wrong. Try again.'
}

export const useAdminStore = defineStore('admin', () => {
  const status = ref<AdminStatus | null>(null)
  /** The server has no admin side (admin.enabled: false): every admin path is a 404. */
  const disabled = ref(false)
  const loading = ref(false)
  const loadError = ref('')
  /** Why the login form is shown again (the session ended under a page). */
  const notice = ref('')
  const busy = ref(false)

  const lockedUntil = ref(0)
  const now = ref(Date.now())
  let ticker: ReturnType<typeof setInterval> | undefined

  const lockSeconds = computed(() => Math.max(0, Math.ceil((lockedUntil.value - now.value) / 1000)))
  const locked = computed(() => lockSeconds.value > 0)

  const loggedIn = computed(() => status.value?.logged_in === true)
  const setupRequired = computed(() => status.value?.setup_required === true)
  const username = computed(() => status.value?.username ?? null)

  function tick(): void {
    now.value = Date.now()
    if (now.value >= lockedUntil.value && ticker !== undefined) {
      clearInterval(ticker)
      ticker = undefined
    }
  }

  function lockFor(seconds: number): void {
    lockedUntil.value = Date.now() + Math.max(1, seconds) * 1000
    now.value = Date.now()
    if (ticker === undefined) ticker = setInterval(tick, 1000)
  }

  /** What a refused form should show; starts the lock-out clock on a 429. */
  function failure(err: unknown, fields: readonly string[]): FormFailure {
    if (!(err instanceof ApiError)) return { field: null, message: messageOf(err), code: 'error' }
    if (err.status === 429) {
      lockFor(err.retryAfter ?? 1)
      return { field: null, message: lockMessage(lockSeconds.value), code: err.code }
    }
    const { field, text } = splitFieldMessage(err.message, fields)
    return { field, message: text, code: err.code }
  }

  async function refresh(): Promise<void> {
    loading.value = true
    loadError.value = ''
    try {
      status.value = await adminApi.getAdminStatus()
      disabled.value = !status.value.admin_enabled
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) disabled.value = true
      else loadError.value = messageOf(err)
    } finally {
      loading.value = false
    }
  }

  async function setup(token: string, name: string, password: string): Promise<FormOutcome> {
    if (locked.value) return { ok: false, field: null, message: lockMessage(lockSeconds.value), code: 'locked' }
    busy.value = true
    try {
      const body: adminApi.SetupBody = { token: token.trim(), password }
      if (name.trim()) body.username = name.trim()
      status.value = await adminApi.setupAdmin(body)
      notice.value = ''
      return { ok: true }
    } catch (err) {
      const refused = failure(err, ['token', 'username', 'password'])
      if (refused.code === 'setup_token_required' || refused.code === 'bad_setup_token') refused.field = 'token'
      if (refused.code === 'setup_done') await refresh() // someone finished it: the login form
      return { ok: false, ...refused }
    } finally {
      busy.value = false
    }
  }

  async function login(name: string, password: string): Promise<FormOutcome> {
    if (locked.value) return { ok: false, field: null, message: lockMessage(lockSeconds.value), code: 'locked' }
    busy.value = true
    try {
      status.value = await adminApi.loginAdmin(name, password)
      notice.value = ''
      return { ok: true }
    } catch (err) {
      const refused = failure(err, [])
      if (refused.code === 'setup_required') await refresh()
      return { ok: false, ...refused }
    } finally {
      busy.value = false
    }
  }

  function markLoggedOut(): void {
    if (status.value) status.value = { ...status.value, logged_in: false, username: null }
  }

  async function logout(): Promise<void> {
    busy.value = true
    try {
      await adminApi.logoutAdmin()
    } catch (err) {
      // A session that had ended already is as good as logged out.
      if (!(err instanceof ApiError && err.status === 401)) throw err
    } finally {
      busy.value = false
    }
    notice.value = ''
    markLoggedOut()
  }

  async function changePassword(current: string, next: string): Promise<FormOutcome> {
    if (locked.value) return { ok: false, field: null, message: lockMessage(lockSeconds.value), code: 'locked' }
    busy.value = true
    try {
      await adminApi.changeAdminPassword(current, next)
      return { ok: true }
    } catch (err) {
      if (isSessionEnd(err)) {
        sessionEnded()
        return { ok: false, field: null, message: SESSION_ENDED, code: 'admin_login_required' }
      }
      const refused = failure(err, ['current', 'new'])
      return { ok: false, ...refused }
    } finally {
      busy.value = false
    }
  }

  function isSessionEnd(err: unknown): boolean {
    return err instanceof ApiError && err.status === 401 && err.code === 'admin_login_required'
  }

  function sessionEnded(): void {
    notice.value = SESSION_ENDED
    markLoggedOut()
  }

  /**
   * What a page should say about a failed request. A 401 from an admin endpoint means the
   * session ended (expired, logged out elsewhere, a password change): back to the login form.
   */
  function describe(err: unknown): string {
    if (isSessionEnd(err)) {
      sessionEnded()
      return SESSION_ENDED
    }
    return messageOf(err)
  }

  return {
    status,
    disabled,
    loading,
    loadError,
    notice,
    busy,
    lockedUntil,
    lockSeconds,
    locked,
    loggedIn,
    setupRequired,
    username,
    refresh,
    setup,
    login,
    logout,
    changePassword,
    describe,
    sessionEnded,
    lockFor,
  }
})
