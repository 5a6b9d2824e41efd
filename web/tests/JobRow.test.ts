import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import JobRow from '../src/components/JobRow.vue'
import { useJobsStore } from '../src/stores/jobs'
import { useConfirmStore } from '../src/stores/confirm'
import { useUndoStore } from '../src/stores/undo'
import type { Job, JobStatus } from '../src/types'
import { jsonResponse, makeJob } from './helpers'

beforeEach(() => {
  setActivePinia(createPinia())
})

/** Mount a row for a job that lives in the store (as it does in the app). */
function rowFor(overrides: Partial<Job>) {
  const store = useJobsStore()
  const data = makeJob(overrides)
  store.replaceAll([data])
  const job = store.get(data.id)!
  const wrapper = mount(JobRow, { props: { job } })
  return { wrapper, job, store }
}

function buttons(wrapper: ReturnType<typeof mount>): string[] {
  return ['job-cancel', 'job-retry', 'job-delete', 'job-save'].filter((id) =>
    wrapper.find(`[data-testid="${id}"]`).exists(),
  )
}

describe('a queue row', () => {
  it('shows title, status, progress, speed, ETA and size while downloading', () => {
    const { wrapper } = rowFor({
      title: 'Big Buck Bunny',
      status: 'downloading',
      progress: 42.7,
      speed: 2_350_000,
      eta: 185,
      downloaded_bytes: 20_000_000,
      total_bytes: 47_000_000,
    })
    const row = wrapper.get('[data-testid="job-row"]')
    expect(row.attributes('data-status')).toBe('downloading')
    expect(row.attributes('data-job-id')).toBeTruthy()
    expect(wrapper.get('[data-testid="job-title"]').text()).toBe('Big Buck Bunny')
    expect(wrapper.get('[data-testid="job-status"]').text()).toBe('Downloading')
    const bar = wrapper.get('[role="progressbar"]')
    expect(bar.attributes('aria-valuenow')).toBe('42')
    expect(bar.attributes('aria-label')).toBe('Progress of Big Buck Bunny')
    expect(wrapper.get('[data-testid="job-percent"]').text()).toBe('42%')
    expect(wrapper.get('[data-testid="job-speed"]').text()).toBe('2.35 MB/s')
    expect(wrapper.get('[data-testid="job-eta"]').text()).toBe('3 min 05 s left')
    expect(wrapper.get('[data-testid="job-size"]').text()).toBe('20.0 MB of 47.0 MB')
  })

  it('shows the URL while the title is unknown', () => {
    const { wrapper } = rowFor({ title: null, url: 'https://media.example/clip.mp4' })
    expect(wrapper.get('[data-testid="job-title"]').text()).toBe('https://media.example/clip.mp4')
  })

  it.each<[JobStatus, string[]]>([
    ['queued', ['job-cancel', 'job-delete']],
    ['extracting', ['job-cancel', 'job-delete']],
    ['downloading', ['job-cancel', 'job-delete']],
    ['postprocessing', ['job-cancel', 'job-delete']],
    ['completed', ['job-delete', 'job-save']],
    ['failed', ['job-retry', 'job-delete']],
    ['cancelled', ['job-retry', 'job-delete']],
  ])('offers the right buttons when %s', (status, expected) => {
    const { wrapper } = rowFor({ status })
    expect(buttons(wrapper)).toEqual(expected)
    for (const b of wrapper.findAll('button')) expect(b.element.tagName).toBe('BUTTON')
  })

  it('links Save to the file as a download', () => {
    const { wrapper, job } = rowFor({ status: 'completed', filesize: 3_100_000 })
    const save = wrapper.get('[data-testid="job-save"]')
    expect(save.element.tagName).toBe('A')
    expect(save.attributes('href')).toBe(`/api/downloads/${job.id}/file`)
    expect(save.attributes('download')).toBeDefined()
    expect(wrapper.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('100')
    expect(wrapper.get('[data-testid="job-size"]').text()).toBe('3.10 MB')
  })

  it('shows the error of a failed job', () => {
    const { wrapper } = rowFor({
      status: 'failed',
      error: { code: 'http_404', message: 'The server said the video does not exist (HTTP 404).' },
    })
    expect(wrapper.get('[data-testid="job-error"]').text()).toBe(
      'The server said the video does not exist (HTTP 404).',
    )
  })

  it('re-renders from store updates alone', async () => {
    const { wrapper, store, job } = rowFor({ status: 'downloading', progress: 10 })
    store.upsert({ id: job.id, progress: 77 })
    await nextTick()
    expect(wrapper.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('77')
    store.upsert({ id: job.id, status: 'completed' })
    await nextTick()
    expect(wrapper.get('[data-testid="job-row"]').attributes('data-status')).toBe('completed')
    expect(wrapper.find('[data-testid="job-cancel"]').exists()).toBe(false)
  })

  it('cancel, retry and delete call the API for this job', async () => {
    const calls: string[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push(`${init.method} ${url}`)
        return init.method === 'DELETE' ? new Response(null, { status: 204 }) : jsonResponse(200, {})
      }),
    )
    const { wrapper, job, store } = rowFor({ status: 'downloading' })
    await wrapper.get('[data-testid="job-cancel"]').trigger('click')
    await flushPromises()
    store.upsert({ id: job.id, status: 'failed' })
    await nextTick()
    await wrapper.get('[data-testid="job-retry"]').trigger('click')
    await flushPromises()
    await wrapper.get('[data-testid="job-delete"]').trigger('click')
    await vi.waitFor(() => expect(store.get(job.id)).toBeUndefined())
    expect(calls).toEqual([
      `POST /api/downloads/${job.id}/cancel`,
      `POST /api/downloads/${job.id}/retry`,
      // A failed job has no file: removed without a question, and it can be undone.
      `DELETE /api/downloads/${job.id}?keep_file=true`,
    ])
    await flushPromises()
    expect(useUndoStore().current?.message).toMatch(/Removed/)
  })

  it('asks before removing a finished job, and keeps its file unless the box is ticked', async () => {
    const calls: string[] = []
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push(`${init.method} ${url}`)
        return new Response(null, { status: 204 })
      }),
    )
    const confirm = useConfirmStore()
    const first = rowFor({ status: 'completed', filename: 'a.mp4' })
    await first.wrapper.get('[data-testid="job-delete"]').trigger('click')
    expect(confirm.current?.option).toMatch(/Also delete the file/)
    confirm.settle(true) // the box left unticked
    await vi.waitFor(() => expect(first.store.get(first.job.id)).toBeUndefined())
    await flushPromises()
    expect(useUndoStore().current?.message).toMatch(/the file is kept/)

    const second = rowFor({ status: 'completed', filename: 'b.mp4' })
    await second.wrapper.get('[data-testid="job-delete"]').trigger('click')
    confirm.optionChecked = true
    confirm.settle(true)
    await vi.waitFor(() => expect(second.store.get(second.job.id)).toBeUndefined())
    expect(calls).toEqual([
      `DELETE /api/downloads/${first.job.id}?keep_file=true`,
      `DELETE /api/downloads/${second.job.id}`,
    ])
  })

  it('shows where a job comes from, and marks jobs added with the API key', () => {
    const { wrapper } = rowFor({ url: 'https://www.media.example/talks/42', title: 'video', via_api: true })
    expect(wrapper.get('[data-testid="job-source"]').text()).toBe('media.example/talks/42')
    expect(wrapper.get('[data-testid="job-source"]').attributes('title')).toBe('https://www.media.example/talks/42')
    expect(wrapper.get('[data-testid="job-api"]').text()).toBe('API')
  })
})
