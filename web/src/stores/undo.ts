// The undo notice: "Removed … from the list. [Undo]" for a few seconds after a job was
// forgotten with its file kept. One notice at a time; a newer one replaces the older (whose
// undo is then gone, as the server's own window for it will be soon after).

import { defineStore } from 'pinia'
import { ref } from 'vue'

export const UNDO_MS = 8000

export interface UndoOffer {
  message: string
  /** Puts things back; resolves true when it did. */
  undo: () => Promise<boolean>
}

export const useUndoStore = defineStore('undo', () => {
  const current = ref<UndoOffer | null>(null)
  const busy = ref(false)
  let timer: ReturnType<typeof setTimeout> | undefined

  function dismiss(): void {
    clearTimeout(timer)
    timer = undefined
    current.value = null
  }

  function offer(next: UndoOffer, ms = UNDO_MS): void {
    dismiss()
    current.value = next
    timer = setTimeout(dismiss, ms)
  }

  async function undo(): Promise<boolean> {
    const offered = current.value
    if (!offered || busy.value) return false
    busy.value = true
    try {
      return await offered.undo()
    } finally {
      busy.value = false
      if (current.value === offered) dismiss()
    }
  }

  return { current, busy, offer, undo, dismiss }
})
