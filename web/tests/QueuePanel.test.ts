import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import QueuePanel from '../src/components/QueuePanel.vue'
import { useEventsStore } from '../src/stores/events'
import { useJobsStore } from '../src/stores/jobs'
import { makeJob } from './helpers'

beforeEach(() => {
  setActivePinia(createPinia())
  useEventsStore().state = 'open'
})

function ids(wrapper: ReturnType<typeof mount>): string[] {
  return wrapper.findAll('[data-testid="job-row"]').map((r) => r.attributes('data-job-id')!)
}

describe('the queue', () => {
  it('filters by tab and shows the counts', async () => {
    const store = useJobsStore()
    const done = makeJob({ status: 'completed' })
    const failed = makeJob({ status: 'failed' })
    const running = makeJob({ status: 'downloading' })
    store.replaceAll([running, failed, done])
    const wrapper = mount(QueuePanel)
    expect(ids(wrapper)).toEqual([running.id, failed.id, done.id])
    expect(wrapper.get('[data-testid="filter-count-all"]').text()).toBe('3')
    expect(wrapper.get('[data-testid="filter-count-active"]').text()).toBe('1')

    await wrapper.get('[data-testid="filter-completed"]').trigger('click')
    expect(wrapper.get('[data-testid="filter-completed"]').attributes('aria-selected')).toBe('true')
    expect(ids(wrapper)).toEqual([done.id])

    await wrapper.get('[data-testid="filter-failed"]').trigger('click')
    expect(ids(wrapper)).toEqual([failed.id])

    // Failed and cancelled are counted apart.
    expect(wrapper.get('[data-testid="filter-count-failed"]').text()).toBe('1')
    expect(wrapper.get('[data-testid="filter-count-cancelled"]').text()).toBe('0')

    // Keyboard: arrow keys move along the tabs.
    await wrapper.get('[role="tablist"]').trigger('keydown', { key: 'ArrowRight' })
    expect(wrapper.get('[data-testid="filter-cancelled"]').attributes('aria-selected')).toBe('true')
    await wrapper.get('[role="tablist"]').trigger('keydown', { key: 'ArrowRight' })
    expect(wrapper.get('[data-testid="filter-all"]').attributes('aria-selected')).toBe('true')
  })

  it('says so when a tab is empty', async () => {
    useJobsStore().replaceAll([])
    const wrapper = mount(QueuePanel)
    expect(wrapper.get('[data-testid="queue-empty"]').text()).toMatch(/Paste a link/)
    expect(wrapper.get('[data-testid="clear-finished"]').attributes('disabled')).toBeDefined()
    expect(wrapper.get('[data-testid="save-all"]').attributes('disabled')).toBeDefined()
  })

  it('shows a playlist as a group that folds away', async () => {
    const store = useJobsStore()
    const parent = makeJob({ kind: 'playlist', status: 'downloading', title: 'Feed' })
    const items = [1, 2, 3].map((i) => makeJob({ parent_id: parent.id, title: `Ep ${i}`, status: i === 1 ? 'completed' : 'queued' }))
    store.replaceAll([...items].reverse().concat(parent))
    const wrapper = mount(QueuePanel)
    const group = wrapper.get(`[data-job-id="${parent.id}"]`)
    expect(group.attributes('data-kind')).toBe('playlist')
    expect(group.get('[data-testid="group-summary"]').text()).toBe('1 of 3 finished')
    expect(group.findAll('.items [data-testid="job-row"]').map((r) => r.get('[data-testid="job-title"]').text())).toEqual([
      'Ep 1',
      'Ep 2',
      'Ep 3',
    ])
    const toggle = group.get('[data-testid="group-toggle"]')
    expect(toggle.attributes('aria-expanded')).toBe('true')
    await toggle.trigger('click')
    expect(toggle.attributes('aria-expanded')).toBe('false')
    expect(group.findAll('.items [data-testid="job-row"]')).toHaveLength(0)
  })

  it('renders a long queue a page at a time', async () => {
    const store = useJobsStore()
    store.replaceAll(Array.from({ length: 1000 }, () => makeJob({ status: 'queued' })))
    const wrapper = mount(QueuePanel)
    expect(wrapper.findAll('[data-testid="job-row"]')).toHaveLength(100)
    expect(wrapper.get('[data-testid="filter-count-all"]').text()).toBe('1000')
    await wrapper.get('[data-testid="show-more"]').trigger('click')
    expect(wrapper.findAll('[data-testid="job-row"]')).toHaveLength(200)
  })

  it('a progress update changes only its own row', async () => {
    const store = useJobsStore()
    const jobs = Array.from({ length: 50 }, () => makeJob({ status: 'downloading', progress: 1 }))
    store.replaceAll(jobs)
    const wrapper = mount(QueuePanel, { attachTo: document.body })
    const target = jobs[17]
    const touched = new Set<Element>()
    const observer = new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target instanceof Element ? r.target : r.target.parentElement
        const row = el?.closest('[data-testid="job-row"]')
        touched.add(row ?? (el as Element))
      }
    })
    observer.observe(wrapper.element.parentElement!, { subtree: true, childList: true, attributes: true, characterData: true })
    store.upsert({ id: target.id, progress: 64, speed: 1_500_000, eta: 20 })
    await nextTick()
    await new Promise((r) => setTimeout(r, 0))
    observer.disconnect()
    expect([...touched].map((el) => el.getAttribute('data-job-id'))).toEqual([target.id])
    expect(wrapper.get(`[data-job-id="${target.id}"] [role="progressbar"]`).attributes('aria-valuenow')).toBe('64')
    wrapper.unmount()
  })

  it('keeps keyboard focus in the queue after a delete', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })))
    const store = useJobsStore()
    const [a, b, c] = [makeJob({ status: 'failed' }), makeJob({ status: 'failed' }), makeJob({ status: 'failed' })]
    store.replaceAll([c, b, a])
    const wrapper = mount(QueuePanel, { attachTo: document.body })
    const del = wrapper.get<HTMLButtonElement>(`[data-job-id="${b.id}"] [data-testid="job-delete"]`)
    del.element.focus()
    await del.trigger('click')
    await flushPromises()
    expect(store.get(b.id)).toBeUndefined()
    expect(document.activeElement?.closest('[data-testid="job-row"]')?.getAttribute('data-job-id')).toBe(a.id)
    wrapper.unmount()
  })
})
