// Probing a URL as the person types or pastes it: what it is (/api/url-info), then which
// formats it offers (/api/formats, for single videos). A newer URL aborts the older probe, so
// a slow answer for a previous URL can never overwrite the preview of the current one.

import { getCurrentScope, onScopeDispose, ref, shallowRef } from 'vue'
import { ApiError, getFormats, getUrlInfo, isAbort } from '../api'
import type { FormatInfo, UrlInfo } from '../types'

export type ProbeStatus = 'idle' | 'loading' | 'ready' | 'error'

/** What the server accepts: an http(s) URL with a host. */
export function looksLikeUrl(text: string): boolean {
  return /^https?:\/\/[^\s/?#]+\S*$/i.test(text.trim())
}

/**
 * Text that is not a link and cannot become one by typing on: spaces, or a start other than
 * http:// or https:// (a start of those, "htt", is not flagged while it is being typed).
 */
export function notALink(text: string): boolean {
  const t = text.trim().toLowerCase()
  if (!t) return false
  if (/\s/.test(t)) return true
  if ('https://'.startsWith(t) || 'http://'.startsWith(t)) return false
  return !looksLikeUrl(t)
}

function explain(err: unknown): string {
  if (err instanceof ApiError) return err.message
  return 'Something went wrong while looking at this link. Try again.'
}

export function useProbe(debounceMs = 600) {
  const status = ref<ProbeStatus>('idle')
  const error = ref('')
  const info = shallowRef<UrlInfo | null>(null)
  const formats = shallowRef<FormatInfo[]>([])
  const formatsStatus = ref<ProbeStatus>('idle')
  const formatsError = ref('')
  /** The URL the current preview (or the probe in flight) is for. */
  const probedUrl = ref('')

  let controller: AbortController | null = null
  let timer: ReturnType<typeof setTimeout> | undefined

  function abort(): void {
    clearTimeout(timer)
    timer = undefined
    controller?.abort()
    controller = null
  }

  function reset(): void {
    abort()
    status.value = 'idle'
    error.value = ''
    info.value = null
    formats.value = []
    formatsStatus.value = 'idle'
    formatsError.value = ''
    probedUrl.value = ''
  }

  async function probeNow(raw: string): Promise<void> {
    const url = raw.trim()
    if (!looksLikeUrl(url)) {
      reset()
      return
    }
    if (url === probedUrl.value && status.value !== 'error') return
    abort()
    const ctl = new AbortController()
    controller = ctl
    probedUrl.value = url
    status.value = 'loading'
    error.value = ''
    info.value = null
    formats.value = []
    formatsStatus.value = 'idle'
    formatsError.value = ''
    try {
      const result = await getUrlInfo(url, ctl.signal)
      if (controller !== ctl) return
      info.value = result
      status.value = 'ready'
    } catch (err) {
      if (isAbort(err) || controller !== ctl) return
      status.value = 'error'
      error.value = explain(err)
      return
    }
    if (info.value?.type !== 'single') return
    formatsStatus.value = 'loading'
    try {
      const list = await getFormats(url, ctl.signal)
      if (controller !== ctl) return
      formats.value = Array.isArray(list) ? list : []
      formatsStatus.value = 'ready'
    } catch (err) {
      if (isAbort(err) || controller !== ctl) return
      formatsStatus.value = 'error'
      formatsError.value = explain(err)
    }
  }

  /** Probe after the person stops typing for a moment. */
  function schedule(raw: string): void {
    clearTimeout(timer)
    const url = raw.trim()
    if (url !== probedUrl.value) {
      // The text no longer matches the preview: drop it and stop its probe now, not later.
      reset()
      if (!looksLikeUrl(url)) return
    }
    timer = setTimeout(() => void probeNow(url), debounceMs)
  }

  if (getCurrentScope()) onScopeDispose(abort)

  return { status, error, info, formats, formatsStatus, formatsError, probedUrl, probeNow, schedule, reset }
}
