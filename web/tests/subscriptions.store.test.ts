import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useSubscriptionsStore } from '../src/stores/subscriptions'
import type { Subscription } from '../src/subscriptionTypes'
import { jsonResponse } from './helpers'

beforeEach(() => {
  setActivePinia(createPinia())
})
afterEach(() => {
  vi.unstubAllGlobals()
})

function makeSubscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: 'sub-1',
    url: 'https://media.example/channel.rss',
    title: null,
    created_at: '2026-01-01T00:00:00+00:00',
    schedule: 'every 60 minutes',
    cron: null,
    interval_minutes: 60,
    paused: false,
    preset: null,
    media_type: null,
    format_id: null,
    quality: null,
    output_format: null,
    options: null,
    filters: {
      title_matches: null,
      title_excludes: null,
      min_duration: null,
      max_duration: null,
      published_after: null,
    },
    first_check: 'new_only',
    first_count: 0,
    max_items_per_check: null,
    last_check_at: null,
    next_check_at: null,
    last_error: null,
    failures: 0,
    checks: 0,
    ...overrides,
  } as Subscription
}

describe('answers and events', () => {
  it('keeps the first check an event brought when the creating POST answers after it', async () => {
    const store = useSubscriptionsStore()
    const answer = makeSubscription()
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(201, answer)))
    // The first check ends, and its event arrives, while the POST's answer is on its way.
    const checked = makeSubscription({
      title: 'Channel one',
      last_check_at: '2026-01-01T00:00:01+00:00',
      checks: 1,
    })
    const created = store.create({ url: answer.url })
    store.upsert(checked)
    const kept = await created
    expect(kept.title).toBe('Channel one')
    expect(store.byId.get('sub-1')?.title).toBe('Channel one')
    expect(store.byId.get('sub-1')?.checks).toBe(1)
  })

  it('takes what a person changed from the answer and what checks learnt from the newer', async () => {
    const store = useSubscriptionsStore()
    store.upsert(
      makeSubscription({ title: 'Channel one', last_check_at: '2026-01-01T00:05:00+00:00', checks: 2 }),
    )
    const answer = makeSubscription({
      paused: true,
      title: 'Channel one (older)',
      last_check_at: '2026-01-01T00:01:00+00:00',
      checks: 1,
    })
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(200, answer)))
    await store.setPaused('sub-1', true)
    const now = store.byId.get('sub-1')
    expect(now?.paused).toBe(true)
    expect(now?.title).toBe('Channel one')
    expect(now?.checks).toBe(2)
  })

  it('takes an answer whole when it has seen the latest check', async () => {
    const store = useSubscriptionsStore()
    store.upsert(makeSubscription({ title: 'Old', last_check_at: '2026-01-01T00:01:00+00:00' }))
    const answer = makeSubscription({ title: 'New', last_check_at: '2026-01-01T00:02:00+00:00' })
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(200, answer)))
    await store.change('sub-1', { url: answer.url })
    expect(store.byId.get('sub-1')?.title).toBe('New')
  })
})

describe('the list on its way while events come', () => {
  it('never puts an older state over what events brought, nor brings back a removed one', async () => {
    const store = useSubscriptionsStore()
    const stale = makeSubscription({ id: 'sub-1' })
    const gone = makeSubscription({ id: 'sub-2' })
    let answer: (r: Response) => void = () => {}
    vi.stubGlobal('fetch', vi.fn(() => new Promise<Response>((resolve) => (answer = resolve))))
    const loading = store.load()
    // While the GET is on its way: the first check fails, and another subscription is deleted.
    store.upsert(
      makeSubscription({
        id: 'sub-1',
        last_check_at: '2026-01-01T00:00:01+00:00',
        failures: 1,
        last_error: { code: 'source_error', message: 'HTTP 500' },
      }),
    )
    store.remove('sub-2')
    answer(jsonResponse(200, { subscriptions: [stale, gone] }))
    await loading
    expect(store.byId.get('sub-1')?.last_error?.message).toBe('HTTP 500')
    expect(store.byId.has('sub-2')).toBe(false)
    expect(store.loaded).toBe(true)
  })

  it('replaces the store whole when nothing changed meanwhile', async () => {
    const store = useSubscriptionsStore()
    store.upsert(makeSubscription({ id: 'old' }))
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => jsonResponse(200, { subscriptions: [makeSubscription({ id: 'new' })] })),
    )
    await store.load()
    expect([...store.byId.keys()]).toEqual(['new'])
  })
})
