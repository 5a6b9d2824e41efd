import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  BACKOFF_MAX_MS,
  backoffDelay,
  STALE_AFTER_MS,
  useEventsStore,
  type EventSourceLike,
} from '../src/stores/events'
import { useJobsStore } from '../src/stores/jobs'
import { useSubscriptionsStore } from '../src/stores/subscriptions'
import { makeJob } from './helpers'

/** A stand-in for the browser's EventSource that the test drives by hand. */
class FakeEventSource implements EventSourceLike {
  static all: FakeEventSource[] = []
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null = null
  closed = false
  private listeners = new Map<string, ((ev: MessageEvent<string>) => void)[]>()

  constructor(readonly url: string) {
    FakeEventSource.all.push(this)
  }

  static get latest(): FakeEventSource {
    return FakeEventSource.all[FakeEventSource.all.length - 1]
  }

  addEventListener(type: string, fn: (ev: MessageEvent<string>) => void): void {
    const list = this.listeners.get(type) ?? []
    list.push(fn)
    this.listeners.set(type, list)
  }

  close(): void {
    this.closed = true
  }

  emit(type: string, data: unknown): void {
    const ev = new MessageEvent<string>(type, { data: typeof data === 'string' ? data : JSON.stringify(data) })
    for (const fn of this.listeners.get(type) ?? []) fn(ev)
  }

  fail(): void {
    this.onerror?.call(this, new Event('error'))
  }
}

function start(random = () => 0.5) {
  const events = useEventsStore()
  events.connect({ factory: (url) => new FakeEventSource(url), random })
  return events
}

beforeEach(() => {
  vi.useFakeTimers()
  setActivePinia(createPinia())
  FakeEventSource.all = []
})

afterEach(() => {
  useEventsStore().disconnect()
  vi.useRealTimers()
})

describe('backoffDelay', () => {
  it('starts at 1 s and doubles up to 30 s', () => {
    const mid = () => 0.5 // no jitter
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, mid))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ])
  })

  it('spreads each delay by up to 20 % and never passes 30 s', () => {
    expect(backoffDelay(0, () => 0)).toBe(800)
    expect(backoffDelay(0, () => 1)).toBe(1200)
    expect(backoffDelay(3, () => 0)).toBe(6400)
    expect(backoffDelay(8, () => 1)).toBe(BACKOFF_MAX_MS)
  })
})

describe('the event stream', () => {
  it('opens one EventSource on /api/events and is "open" after init', () => {
    const events = start()
    expect(FakeEventSource.all).toHaveLength(1)
    expect(FakeEventSource.latest.url).toBe('/api/events')
    expect(events.state).toBe('connecting')
    FakeEventSource.latest.emit('init', { jobs: [makeJob()] })
    expect(events.state).toBe('open')
    expect(useJobsStore().size).toBe(1)
    // Connecting again is a no-op: one stream for the whole app.
    events.connect({ factory: (url) => new FakeEventSource(url) })
    expect(FakeEventSource.all).toHaveLength(1)
  })

  it('feeds job_update and job_removed into the jobs store, and ignores ping and junk', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    start()
    const es = FakeEventSource.latest
    const job = makeJob({ status: 'downloading' })
    es.emit('init', { jobs: [job] })
    es.emit('job_update', { job: { id: job.id, progress: 42 } })
    es.emit('ping', '')
    es.emit('job_update', '{not json')
    expect(warn).toHaveBeenCalledOnce()
    expect(useJobsStore().get(job.id)?.progress).toBe(42)
    es.emit('job_update', { job: { id: 'new', title: 'Fresh' } })
    expect(useJobsStore().get('new')?.title).toBe('Fresh')
    es.emit('job_removed', { id: job.id })
    expect(useJobsStore().get(job.id)).toBeUndefined()
  })

  it('reconnects after 1, 2, 4, 8 … s up to 30 s, closing the broken source', () => {
    const events = start()
    const delays: number[] = []
    for (let i = 0; i < 7; i++) {
      const es = FakeEventSource.latest
      const count = FakeEventSource.all.length
      es.fail()
      expect(es.closed).toBe(true)
      expect(events.state).toBe('connecting')
      const due = events.nextRetryAt! - Date.now()
      delays.push(due)
      vi.advanceTimersByTime(due - 1)
      expect(FakeEventSource.all).toHaveLength(count)
      vi.advanceTimersByTime(1)
      expect(FakeEventSource.all).toHaveLength(count + 1)
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000])
  })

  it('goes back to 1 s only after a connection delivered init', () => {
    const events = start()
    FakeEventSource.latest.fail()
    vi.advanceTimersByTime(1000)
    FakeEventSource.latest.fail()
    vi.advanceTimersByTime(2000)
    // Connected, then dropped before init: still backing off.
    FakeEventSource.latest.fail()
    expect(events.nextRetryAt! - Date.now()).toBe(4000)
    vi.advanceTimersByTime(4000)
    FakeEventSource.latest.emit('init', { jobs: [] })
    expect(events.attempt).toBe(0)
    FakeEventSource.latest.fail()
    expect(events.nextRetryAt! - Date.now()).toBe(1000)
  })

  it('shows the true state after a reconnect without a reload', () => {
    const events = start()
    const a = makeJob({ status: 'downloading', progress: 30 })
    const b = makeJob({ status: 'queued' })
    FakeEventSource.latest.emit('init', { jobs: [b, a] })
    FakeEventSource.latest.fail()
    expect(events.state).toBe('connecting')
    expect(events.everOpened).toBe(true)
    vi.advanceTimersByTime(1000)
    // While we were away a finished and b was deleted.
    FakeEventSource.latest.emit('init', { jobs: [{ ...a, status: 'completed', progress: 100 }] })
    const jobs = useJobsStore()
    expect(events.state).toBe('open')
    expect(jobs.get(a.id)?.status).toBe('completed')
    expect(jobs.get(b.id)).toBeUndefined()
  })

  it('ignores events from a source it has given up on', () => {
    start()
    const old = FakeEventSource.latest
    old.emit('init', { jobs: [] })
    old.fail()
    vi.advanceTimersByTime(1000)
    old.emit('job_update', { job: { id: 'ghost' } })
    expect(useJobsStore().get('ghost')).toBeUndefined()
  })

  it('treats a silent stream as dead', () => {
    const events = start()
    FakeEventSource.latest.emit('init', { jobs: [] })
    vi.advanceTimersByTime(STALE_AFTER_MS - 6000)
    FakeEventSource.latest.emit('ping', '')
    vi.advanceTimersByTime(STALE_AFTER_MS - 6000)
    expect(events.state).toBe('open')
    vi.advanceTimersByTime(12_000)
    expect(events.state).toBe('connecting')
    expect(FakeEventSource.all[0].closed).toBe(true)
  })

  it('retries at once when the browser comes back online', () => {
    start()
    FakeEventSource.latest.fail()
    vi.advanceTimersByTime(1000)
    FakeEventSource.latest.fail()
    const count = FakeEventSource.all.length
    window.dispatchEvent(new Event('online'))
    expect(FakeEventSource.all).toHaveLength(count + 1)
  })

  it('stops for good on disconnect', () => {
    const events = start()
    FakeEventSource.latest.fail()
    events.disconnect()
    vi.advanceTimersByTime(60_000)
    expect(FakeEventSource.all).toHaveLength(1)
    expect(events.state).toBe('idle')
  })
})

describe('subscription events', () => {
  const sub = {
    id: 's1',
    url: 'https://example.com/feed.rss',
    title: 'A feed',
    schedule: 'every 60 min',
    paused: false,
    created_at: '2026-01-01T00:00:00.000+00:00',
    last_check_at: null,
    next_check_at: null,
    last_error: null,
    failures: 0,
    checks: 0,
  }

  it('keep the subscriptions store current: changes, ended checks, removals', () => {
    start()
    const es = FakeEventSource.latest
    const subs = useSubscriptionsStore()
    es.emit('init', { jobs: [] })
    es.emit('subscription_update', { subscription: sub })
    expect(subs.list.map((s) => s.title)).toEqual(['A feed'])
    es.emit('subscription_update', { subscription: { ...sub, paused: true } })
    expect(subs.byId.get('s1')?.paused).toBe(true)
    const result = { found: 2, queued: 1, skipped: 1, listed: 5, deferred: 0, error: null }
    es.emit('subscription_checked', { id: 's1', result })
    expect(subs.lastResult.get('s1')).toEqual(result)
    es.emit('subscription_removed', { id: 's1' })
    expect(subs.list).toEqual([])
  })

  it('ignore malformed subscription events', () => {
    start()
    const es = FakeEventSource.latest
    const subs = useSubscriptionsStore()
    es.emit('subscription_update', 'not json')
    es.emit('subscription_removed', { id: 42 })
    es.emit('subscription_checked', { id: 's1' })
    expect(subs.list).toEqual([])
    expect(subs.lastResult.size).toBe(0)
  })
})
