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
  /** A checkbox to ask one more thing (e.g. "Also delete the file"); unticked by default. */
  option?: string
}

export interface ConfirmAnswer {
  ok: boolean
  /** Whether the option's box was ticked (false without an option). */
  option: boolean
}

export const useConfirmStore = defineStore('confirm', () => {
  const current = ref<ConfirmRequest | null>(null)
  /** The option's checkbox, while a question with an option is open. */
  const optionChecked = ref(false)
  let resolve: ((answer: ConfirmAnswer) => void) | null = null

  /** Ask, with the option's answer too. */
  function choose(request: ConfirmRequest): Promise<ConfirmAnswer> {
    resolve?.({ ok: false, option: false }) // a second question cancels the first
    current.value = request
    optionChecked.value = false
    return new Promise<ConfirmAnswer>((done) => {
      resolve = done
    })
  }

  async function ask(request: ConfirmRequest): Promise<boolean> {
    return (await choose(request)).ok
  }

  function settle(ok: boolean): void {
    const done = resolve
    const option = ok && optionChecked.value
    resolve = null
    current.value = null
    optionChecked.value = false
    done?.({ ok, option })
  }

  return { current, optionChecked, ask, choose, settle }
})
