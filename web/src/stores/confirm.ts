// The one in-page confirmation dialog: `ask()` opens it and resolves true (confirmed) or false
// (cancelled, Escape). ConfirmDialog.vue draws it as a modal <dialog>; a native
// `window.confirm` would block the page and cannot be styled or tested.

import { defineStore } from 'pinia'
import { ref } from 'vue'

export interface ConfirmRequest {
  title: string
  message: string
  /** The confirming button's words, e.g. "Clear the log". */
  confirmLabel: string
  /** Drawn as a dangerous action. */
  danger?: boolean
}

export const useConfirmStore = defineStore('confirm', () => {
  const current = ref<ConfirmRequest | null>(null)
  let resolve: ((ok: boolean) => void) | null = null

  function ask(request: ConfirmRequest): Promise<boolean> {
    resolve?.(false) // a second question cancels the first
    current.value = request
    return new Promise<boolean>((done) => {
      resolve = done
    })
  }

  function settle(ok: boolean): void {
    const done = resolve
    resolve = null
    current.value = null
    done?.(ok)
  }

  return { current, ask, settle }
})
