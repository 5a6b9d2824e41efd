// Who is using the app (issue 14). With `auth.mode: none` nobody logs in and this store stays
// quiet; otherwise it asks the server who we are, and the page shows the login until someone is.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError } from '../api'
import * as accounts from '../accountsApi'
import type { AuthMode, UserView } from '../types'

export const useAccountStore = defineStore('account', () => {
  const mode = ref<AuthMode>('none')
  const user = ref<UserView | null>(null)
  const checked = ref(false)
  const setupRequired = ref(false)
  const loadError = ref('')
  /** Counts logins made on this page (not the one found at load): something to watch. */
  const logins = ref(0)

  /** Whether the download page may be shown (and its event stream opened). */
  const canUse = computed(() => mode.value === 'none' || user.value !== null)
  const needsLogin = computed(() => checked.value && !canUse.value)

  async function load(authMode: AuthMode, accountsSetupRequired = false): Promise<void> {
    mode.value = authMode
    setupRequired.value = accountsSetupRequired
    if (authMode === 'none') {
      checked.value = true
      return
    }
    try {
      user.value = (await accounts.getMe()).user ?? null
      loadError.value = ''
    } catch (err) {
      user.value = null
      if (!(err instanceof ApiError && err.code === 'login_required')) {
        loadError.value = err instanceof Error ? err.message : String(err)
      }
    }
    checked.value = true
  }

  async function logIn(username: string, password: string): Promise<void> {
    user.value = (await accounts.login(username, password)).user ?? null
    logins.value += 1
  }

  async function register(invite: string, username: string, password: string): Promise<void> {
    user.value = (await accounts.register(invite, username, password)).user ?? null
    logins.value += 1
  }

  async function logOut(): Promise<void> {
    await accounts.logout()
    user.value = null
  }

  return {
    mode,
    user,
    checked,
    setupRequired,
    loadError,
    logins,
    canUse,
    needsLogin,
    load,
    logIn,
    register,
    logOut,
  }
})
