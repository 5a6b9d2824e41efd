// The settings page's state: the server's settings, the form's drafts, and what the server
// refused, field by field. Saving sends every changed field in one PATCH (the server takes all
// of them or none); a 422 or 409 names each bad key on a line of its own, which lands next to
// its field. A reset (DELETE /api/admin/settings/<key>) keeps the other fields' unsaved drafts.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError } from '../api'
import * as adminApi from '../adminApi'
import { type Draft, fromDraft, isChanged, kindOf, sortErrors, toDraft } from '../settingsForm'
import type { SettingView } from '../types'
import { useAdminStore } from './admin'

export type SaveOutcome =
  | { ok: true; saved: string[] }
  | { ok: false; reason: 'nothing' | 'invalid' | 'refused'; keys: string[] }

export const useAdminSettingsStore = defineStore('adminSettings', () => {
  const settings = ref<SettingView[]>([])
  const drafts = ref<Record<string, Draft>>({})
  const fieldErrors = ref<Record<string, string>>({})
  const formError = ref('')
  const loading = ref(false)
  const loaded = ref(false)
  const saving = ref(false)

  const byKey = computed(() => new Map(settings.value.map((s) => [s.key, s])))

  /** The editable settings whose draft differs from the server's value. */
  const dirtyKeys = computed(() =>
    settings.value
      .filter((s) => s.editable && s.key in drafts.value && isChanged(s, drafts.value[s.key]))
      .map((s) => s.key),
  )

  /** Take the server's settings; keep the unsaved drafts of other keys if asked. */
  function adopt(list: SettingView[], keepDraftsOf: readonly string[] = []): void {
    const kept = Object.fromEntries(
      keepDraftsOf.filter((k) => k in drafts.value).map((k) => [k, drafts.value[k]]),
    )
    settings.value = list
    drafts.value = Object.fromEntries(list.map((s) => [s.key, kept[s.key] ?? toDraft(s.value)]))
  }

  async function load(): Promise<void> {
    loading.value = true
    formError.value = ''
    try {
      adopt(await adminApi.getSettings())
      fieldErrors.value = {}
      loaded.value = true
    } catch (err) {
      formError.value = useAdminStore().describe(err)
    } finally {
      loading.value = false
    }
  }

  function setDraft(key: string, value: Draft): void {
    drafts.value = { ...drafts.value, [key]: value }
    if (key in fieldErrors.value) {
      const { [key]: _gone, ...rest } = fieldErrors.value
      fieldErrors.value = rest
    }
  }

  async function save(): Promise<SaveOutcome> {
    formError.value = ''
    const changes: Record<string, unknown> = {}
    const invalid: Record<string, string> = {}
    for (const key of dirtyKeys.value) {
      const setting = byKey.value.get(key)!
      const parsed = fromDraft(drafts.value[key], kindOf(setting.value))
      if (parsed.ok) changes[key] = parsed.value
      else invalid[key] = parsed.error
    }
    if (Object.keys(invalid).length) {
      fieldErrors.value = invalid
      return { ok: false, reason: 'invalid', keys: Object.keys(invalid) }
    }
    const keys = Object.keys(changes)
    if (!keys.length) {
      fieldErrors.value = {}
      return { ok: false, reason: 'nothing', keys: [] }
    }
    saving.value = true
    try {
      adopt(await adminApi.changeSettings(changes))
      fieldErrors.value = {}
      return { ok: true, saved: keys }
    } catch (err) {
      if (err instanceof ApiError && (err.status === 422 || err.status === 409)) {
        const sorted = sortErrors(err.message, byKey.value.keys())
        fieldErrors.value = sorted.fields
        formError.value = sorted.other.join(' ')
        const bad = Object.keys(sorted.fields)
        if (!bad.length && !formError.value) formError.value = err.message
        return { ok: false, reason: 'refused', keys: bad }
      }
      formError.value = useAdminStore().describe(err)
      return { ok: false, reason: 'refused', keys: [] }
    } finally {
      saving.value = false
    }
  }

  /** Back to the config's (or the default) value; other unsaved drafts stay. */
  async function reset(key: string): Promise<boolean> {
    formError.value = ''
    saving.value = true
    try {
      const others = dirtyKeys.value.filter((k) => k !== key)
      adopt(await adminApi.resetSetting(key), others)
      const { [key]: _gone, ...rest } = fieldErrors.value
      fieldErrors.value = rest
      return true
    } catch (err) {
      if (err instanceof ApiError && (err.status === 422 || err.status === 409)) {
        fieldErrors.value = { ...fieldErrors.value, [key]: err.message }
      } else {
        formError.value = useAdminStore().describe(err)
      }
      return false
    } finally {
      saving.value = false
    }
  }

  /** Forget the unsaved drafts. */
  function discard(): void {
    adopt(settings.value)
    fieldErrors.value = {}
    formError.value = ''
  }

  return {
    settings,
    drafts,
    fieldErrors,
    formError,
    loading,
    loaded,
    saving,
    byKey,
    dirtyKeys,
    load,
    setDraft,
    save,
    reset,
    discard,
  }
})
