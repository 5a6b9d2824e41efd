// Two ways of telling the person something: `announce` speaks through the polite live region
// (status changes, for screen readers); `error` also shows a visible message that stays until
// dismissed or replaced. Announcements that arrive together are read out together.

import { defineStore } from 'pinia'
import { ref } from 'vue'

const BATCH_MS = 400

export const useNoticesStore = defineStore('notices', () => {
  /** What the live region currently says. */
  const spoken = ref('')
  /** The visible error, if any. */
  const errorText = ref('')

  let pending: string[] = []
  let overflow = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  function flush(): void {
    timer = undefined
    // Clear, then set on the next tick, so repeating the same words is announced again.
    const text = pending.join('. ') + (overflow > 0 ? `. And ${overflow} more.` : '')
    pending = []
    overflow = 0
    spoken.value = ''
    setTimeout(() => {
      spoken.value = text
    }, 30)
  }

  function announce(message: string): void {
    if (!message) return
    if (pending.length < 4) pending.push(message)
    else overflow++
    timer ??= setTimeout(flush, BATCH_MS)
  }

  function error(message: string): void {
    errorText.value = message
    announce(message)
  }

  function clearError(): void {
    errorText.value = ''
  }

  return { spoken, errorText, announce, error, clearError }
})
