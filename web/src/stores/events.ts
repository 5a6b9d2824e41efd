// The one live connection to the server: an EventSource on /api/events that feeds the jobs
// store (and the subscriptions store), and says whether the page is up to date.
//
// The browser's own EventSource reconnects by itself, but at a fixed short interval, forever,
// and all clients at once after a server restart. We take reconnection over: on any error we
// close the source and open a new one after a delay that starts at 1 s, doubles on each failure
// up to 30 s, and is spread by ±20 % jitter so that many tabs do not return in lock step. The
// delay goes back to 1 s only once a connection has delivered its `init` — a server that
// accepts connections and then drops them still backs off. Each new connection starts with
// `init`, the full state, which replaces ours: whatever happened while we were away is shown
// without a reload.
//
// A connection can also die silently (a sleeping laptop, a proxy that drops idle streams). The
// server sends at least a `ping` every 15 s; after 45 s of silence we treat the stream as dead.

import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { EVENTS_URL } from '../api'
import type { CheckResult, Subscription } from '../subscriptionTypes'
import type { Job, JobPatch } from '../types'
import { useJobsStore } from './jobs'
import { useSubscriptionsStore } from './subscriptions'

/** The part of the browser's EventSource we use (a test double can stand in for it). */
export interface EventSourceLike {
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void
  close(): void
}

export type EventSourceFactory = (url: string) => EventSourceLike

export type ConnectionState = 'idle' | 'connecting' | 'open'

export const BACKOFF_BASE_MS = 1000
export const BACKOFF_MAX_MS = 30_000
export const STALE_AFTER_MS = 45_000
const JITTER = 0.2

/** The wait before reconnect attempt `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const nominal = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16))
  const spread = nominal * (1 - JITTER + 2 * JITTER * random())
  return Math.round(Math.min(BACKOFF_MAX_MS, spread))
}

const defaultFactory: EventSourceFactory = (url) =>
  new EventSource(url, { withCredentials: false }) as unknown as EventSourceLike

function parse<T>(ev: MessageEvent<string>): T | undefined {
  try {
    return JSON.parse(ev.data) as T
  } catch {
    console.warn('media-rip: ignoring a malformed event', ev.type)
    return undefined
  }
}

export interface ConnectOptions {
  factory?: EventSourceFactory
  random?: () => number
  url?: string
}

export const useEventsStore = defineStore('events', () => {
  const state = ref<ConnectionState>('idle')
  // The jobs store applies API answers only while the stream is down: tell it, at once.
  watch(state, (now) => useJobsStore().setStreamOpen(now === 'open'), { flush: 'sync' })
  /** Has any connection delivered `init` yet? (first load shows "connecting", later "reconnecting") */
  const everOpened = ref(false)
  /** Failed attempts since the last good `init`. */
  const attempt = ref(0)
  /** When the next attempt is due (ms since epoch), for the indicator. */
  const nextRetryAt = ref<number | null>(null)

  let source: EventSourceLike | null = null
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let watchdog: ReturnType<typeof setInterval> | undefined
  let lastEventAt = 0
  let factory: EventSourceFactory = defaultFactory
  let random: () => number = Math.random
  let url = EVENTS_URL
  let running = false

  function seen(): void {
    lastEventAt = Date.now()
  }

  function open(): void {
    clearTimeout(retryTimer)
    retryTimer = undefined
    nextRetryAt.value = null
    state.value = 'connecting'
    const jobs = useJobsStore()
    let es: EventSourceLike
    try {
      es = factory(url)
    } catch {
      scheduleRetry()
      return
    }
    source = es
    seen()
    es.addEventListener('init', (ev) => {
      if (source !== es) return
      seen()
      const data = parse<{ jobs?: Job[] }>(ev)
      if (!data || !Array.isArray(data.jobs)) return
      jobs.replaceAll(data.jobs)
      state.value = 'open'
      everOpened.value = true
      attempt.value = 0
    })
    es.addEventListener('job_update', (ev) => {
      if (source !== es) return
      seen()
      const data = parse<{ job?: JobPatch }>(ev)
      if (data?.job) jobs.upsert(data.job)
    })
    es.addEventListener('job_removed', (ev) => {
      if (source !== es) return
      seen()
      const data = parse<{ id?: string }>(ev)
      if (typeof data?.id === 'string') jobs.remove(data.id)
    })
    const subscriptions = useSubscriptionsStore()
    es.addEventListener('subscription_update', (ev) => {
      if (source !== es) return
      seen()
      const data = parse<{ subscription?: Subscription }>(ev)
      if (data?.subscription) subscriptions.upsert(data.subscription)
    })
    es.addEventListener('subscription_removed', (ev) => {
      if (source !== es) return
      seen()
      const data = parse<{ id?: string }>(ev)
      if (typeof data?.id === 'string') subscriptions.remove(data.id)
    })
    es.addEventListener('subscription_checked', (ev) => {
      if (source !== es) return
      seen()
      const data = parse<{ id?: string; result?: CheckResult }>(ev)
      if (typeof data?.id === 'string' && data.result) subscriptions.checked(data.id, data.result)
    })
    es.addEventListener('ping', () => {
      if (source === es) seen()
    })
    es.onerror = () => {
      if (source === es) fail()
    }
  }

  function scheduleRetry(): void {
    const delay = backoffDelay(attempt.value, random)
    attempt.value++
    state.value = 'connecting'
    nextRetryAt.value = Date.now() + delay
    retryTimer = setTimeout(open, delay)
  }

  /** The current connection is gone: drop it and try again later. */
  function fail(): void {
    source?.close()
    source = null
    if (running) scheduleRetry()
  }

  function onOnline(): void {
    // The network is back: do not sit out the rest of a long backoff.
    if (running && source === null) open()
  }

  function checkStale(): void {
    if (running && source !== null && Date.now() - lastEventAt > STALE_AFTER_MS) fail()
  }

  /** Open the stream (once for the whole app). Options are for tests. */
  function connect(opts: ConnectOptions = {}): void {
    if (running) return
    running = true
    factory = opts.factory ?? defaultFactory
    random = opts.random ?? Math.random
    url = opts.url ?? EVENTS_URL
    attempt.value = 0
    globalThis.addEventListener?.('online', onOnline)
    watchdog = setInterval(checkStale, 5000)
    open()
  }

  function disconnect(): void {
    running = false
    clearTimeout(retryTimer)
    clearInterval(watchdog)
    retryTimer = undefined
    watchdog = undefined
    globalThis.removeEventListener?.('online', onOnline)
    source?.close()
    source = null
    nextRetryAt.value = null
    state.value = 'idle'
  }

  /** Open a fresh stream now (its `init` brings the whole scope): after the scope changed. */
  function reconnect(): void {
    if (!running) return
    source?.close()
    source = null
    open()
  }

  return { state, everOpened, attempt, nextRetryAt, connect, disconnect, reconnect }
})
