import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import App from '../src/App.vue'
import { useEventsStore, type EventSourceLike } from '../src/stores/events'
import { useJobsStore } from '../src/stores/jobs'
import { useNoticesStore } from '../src/stores/notices'
import { usePreferencesStore } from '../src/stores/preferences'
import { jsonResponse, makeJob } from './helpers'

class QuietEventSource implements EventSourceLike {
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null = null
  handlers = new Map<string, (ev: MessageEvent<string>) => void>()
  addEventListener(type: string, fn: (ev: MessageEvent<string>) => void): void {
    this.handlers.set(type, fn)
  }
  close(): void {}
  emit(type: string, data: unknown): void {
    this.handlers.get(type)?.(new MessageEvent(type, { data: JSON.stringify(data) }))
  }
}

let es: QuietEventSource

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => (url === '/api/cookies' ? jsonResponse(200, { has_cookies: false }) : jsonResponse(404, {}))),
  )
  useEventsStore().connect({
    factory: () => {
      es = new QuietEventSource()
      return es
    },
  })
})

afterEach(() => {
  useEventsStore().disconnect()
})

describe('the app', () => {
  it('shows the connection state', async () => {
    const wrapper = mount(App)
    const indicator = wrapper.get('[data-testid="connection"]')
    expect(indicator.attributes('data-state')).toBe('connecting')
    expect(indicator.text()).toBe('Connecting…')
    es.emit('init', { jobs: [] })
    await nextTick()
    expect(indicator.attributes('data-state')).toBe('open')
    es.onerror?.call(es, new Event('error'))
    await nextTick()
    expect(indicator.attributes('data-state')).toBe('connecting')
    expect(indicator.text()).toBe('Reconnecting…')
  })

  it('has one live region, and the cookies explanation', async () => {
    const wrapper = mount(App)
    await flushPromises()
    expect(wrapper.findAll('[aria-live="polite"][data-testid="live-region"]')).toHaveLength(1)
    expect(wrapper.get('.cookies').text()).toMatch(/logged in/)
    expect(wrapper.get('[data-testid="cookies-file"]').attributes('type')).toBe('file')
  })

  it('switches colour mode and remembers it', async () => {
    const prefs = usePreferencesStore()
    const stop = prefs.bindDocument()
    const wrapper = mount(App)
    await wrapper.get('[data-testid="mode-dark"]').trigger('click')
    expect(document.documentElement.dataset.mode).toBe('dark')
    await wrapper.get('[data-testid="mode-light"]').trigger('click')
    expect(document.documentElement.dataset.mode).toBe('light')
    expect(localStorage.getItem('mediarip.mode')).toBe('"light"')
    stop()
  })

  it('every button and field has a name', async () => {
    const wrapper = mount(App, { attachTo: document.body })
    es.emit('init', { jobs: [makeJob({ status: 'completed' }), makeJob({ status: 'failed' })] })
    await flushPromises()
    for (const b of wrapper.findAll('button')) {
      const name = b.attributes('aria-label') ?? b.text()
      expect(name.trim(), b.html()).not.toBe('')
    }
    for (const field of wrapper.findAll('input, select')) {
      const id = field.attributes('id')
      const labelled =
        field.attributes('aria-label') ||
        field.attributes('aria-labelledby') ||
        (id && document.querySelector(`label[for="${id}"]`)) ||
        field.element.closest('label')
      expect(labelled, field.html()).toBeTruthy()
    }
    wrapper.unmount()
  })
})

describe('announcements', () => {
  it('batches messages into the live region', async () => {
    vi.useFakeTimers()
    try {
      const notices = useNoticesStore()
      notices.announce('Finished: A')
      notices.announce('Failed: B')
      await vi.advanceTimersByTimeAsync(1000)
      expect(notices.spoken).toBe('Finished: A. Failed: B')
    } finally {
      vi.useRealTimers()
    }
  })

  it('jobs store status listeners fire for finished jobs', () => {
    const jobs = useJobsStore()
    const job = makeJob({ status: 'downloading', title: 'Clip' })
    jobs.replaceAll([job])
    const said: string[] = []
    jobs.onStatusChange((j) => said.push(`${j.status}: ${j.title}`))
    jobs.upsert({ id: job.id, status: 'completed' })
    expect(said).toEqual(['completed: Clip'])
  })
})
