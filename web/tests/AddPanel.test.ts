import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import AddPanel from '../src/components/AddPanel.vue'
import { currentPath } from '../src/router'
import { useJobsStore } from '../src/stores/jobs'
import type { Preset, UrlInfo } from '../src/types'
import { jsonResponse, makeJob, SAMPLE_FORMATS } from './helpers'

const VIDEO_URL = 'https://media.example/watch/1'
const LIST_URL = 'https://media.example/feed.rss'

const VIDEO_INFO: UrlInfo = {
  type: 'single',
  title: 'Sintel trailer',
  duration: 52,
  thumbnail: 'https://img.example/sintel.jpg',
  uploader: 'Blender',
  is_audio_only: false,
  count: 1,
  entries: [],
  subtitles: [],
  automatic_captions: [],
}

const LIST_INFO: UrlInfo = {
  type: 'playlist',
  title: 'Podcast',
  duration: null,
  thumbnail: null,
  uploader: null,
  is_audio_only: false,
  count: 3,
  entries: [1, 2, 3].map((i) => ({ index: i, title: `Episode ${i}`, url: `${LIST_URL}#${i}`, duration: 60 * i })),
  subtitles: [],
  automatic_captions: [],
}

interface Call {
  method: string
  url: string
  body: unknown
  signal?: AbortSignal | null
}

/** A stand-in for the server's HTTP API: answers by route and records what was sent. */
function fakeServer(
  routes: {
    info?: UrlInfo | (() => Response)
    formatsStatus?: number
    hang?: boolean
    presets?: { presets: Preset[]; default: string | null }
    shareQueues?: boolean
  } = {},
) {
  const calls: Call[] = []
  const fetchMock = vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET'
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    // The options panel reads the presets once, on its own: not part of what these tests count.
    if (url === '/api/presets') return jsonResponse(200, routes.presets ?? { presets: [], default: null })
    if (url === '/api/config/public') return jsonResponse(200, { share_queues: routes.shareQueues ?? false })
    calls.push({ method, url, body, signal: init.signal })
    if (url === '/api/url-info') {
      if (routes.hang) {
        // A slow probe: it answers only by failing when the client aborts it.
        return new Promise<Response>((_, reject) => {
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
        })
      }
      const info = routes.info ?? ((body as { url: string }).url === LIST_URL ? LIST_INFO : VIDEO_INFO)
      return typeof info === 'function' ? info() : jsonResponse(200, info)
    }
    if (url.startsWith('/api/formats')) {
      if (routes.formatsStatus) return jsonResponse(routes.formatsStatus, { error: { code: 'x', message: 'nope' } })
      return jsonResponse(200, { formats: SAMPLE_FORMATS })
    }
    if (url === '/api/downloads' && method === 'POST') {
      return jsonResponse(201, makeJob({ url: (body as { url: string }).url }))
    }
    return jsonResponse(404, { error: { code: 'not_found', message: 'Not found' } })
  })
  vi.stubGlobal('fetch', fetchMock)
  return { calls, fetchMock, posted: () => calls.filter((c) => c.url === '/api/downloads').map((c) => c.body) }
}

async function paste(wrapper: ReturnType<typeof mount>, url: string): Promise<void> {
  const input = wrapper.get('[data-testid="url-input"]')
  await input.trigger('paste')
  await input.setValue(url)
  await flushPromises()
}

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
})

describe('the add form', () => {
  it('sends the preset picked and the options turned on, with the link\'s subtitle languages', async () => {
    const preset: Preset = {
      id: 'p1',
      name: 'Video: mp4',
      media_type: 'video',
      format_id: null,
      quality: null,
      output_format: 'mp4',
      options: null,
    }
    const server = fakeServer({
      info: { ...VIDEO_INFO, subtitles: ['en', 'fr'] },
      presets: { presets: [preset], default: null },
    })
    const wrapper = mount(AddPanel)
    await flushPromises()
    await paste(wrapper, VIDEO_URL)
    await wrapper.get('[data-testid="preset-select"]').setValue('p1')
    await wrapper.get('[data-testid="opt-subtitles"]').setValue(true)
    await wrapper.get('[data-testid="opt-lang-fr"]').setValue(true)
    await wrapper.get('[data-testid="opt-thumbnail"]').setValue(true)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    const [sent] = server.posted() as {
      preset: string
      output_format: string
      options: Record<string, unknown>
    }[]
    expect(sent.preset).toBe('p1')
    expect(sent.output_format).toBe('mp4') // the form took the preset's
    // Over a preset, every option is sent: those off here turn the preset's off.
    expect(sent.options).toEqual({
      subtitles: { languages: ['fr'], mode: 'embed' },
      embed_thumbnail: true,
      embed_metadata: false,
      split_chapters: false,
      sponsorblock: null,
      clip: null,
      folder: null,
      filename: null,
    })
  })

  it('refuses the default preset with preset: null when "None" is picked', async () => {
    const server = fakeServer({ presets: { presets: [], default: 'p9' } })
    const wrapper = mount(AddPanel)
    await flushPromises()
    await paste(wrapper, VIDEO_URL)
    await wrapper.get('[data-testid="preset-select"]').setValue('')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect((server.posted()[0] as { preset: unknown }).preset).toBeNull()
  })

  it('probes a pasted link at once and previews it', async () => {
    const server = fakeServer()
    const wrapper = mount(AddPanel)
    await paste(wrapper, VIDEO_URL)
    expect(server.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST /api/url-info',
      `GET /api/formats?url=${encodeURIComponent(VIDEO_URL)}`,
    ])
    expect(wrapper.get('[data-testid="preview-title"]').text()).toBe('Sintel trailer')
    expect(wrapper.get('[data-testid="preview-duration"]').text()).toBe('0:52')
    expect(wrapper.get('[data-testid="preview-uploader"]').text()).toBe('Blender')
  })

  it('groups the formats and submits the chosen one', async () => {
    const server = fakeServer()
    const wrapper = mount(AddPanel)
    await paste(wrapper, VIDEO_URL)

    const select = wrapper.get('[data-testid="format-select"]')
    const groups = select.findAll('optgroup').map((g) => g.attributes('label'))
    expect(groups).toEqual(['Quality limit', 'Video + audio', 'Video only', 'Audio only'])
    const av = select.findAll('optgroup[data-group="av"] option').map((o) => o.attributes('value'))
    expect(av).toEqual(['f:22', 'f:18'])
    expect((select.element as HTMLSelectElement).value).toBe('best')

    await select.setValue('f:22')
    await wrapper.get('[data-testid="output-format-webm"]').trigger('click')
    expect(wrapper.get('[data-testid="output-format-webm"]').attributes('aria-pressed')).toBe('true')
    await wrapper.get('form').trigger('submit')
    await flushPromises()

    expect(server.posted()).toEqual([
      { url: VIDEO_URL, media_type: 'video', format_id: '22', output_format: 'webm' },
    ])
    // The job is in the queue and the form is ready for the next link.
    expect(useJobsStore().size).toBe(1)
    expect((wrapper.get('[data-testid="url-input"]').element as HTMLInputElement).value).toBe('')
    expect(wrapper.find('[data-testid="preview"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="added"]').text()).toBe('Added to the queue: Sintel trailer')
  })

  it('submits a quality limit as quality', async () => {
    const server = fakeServer()
    const wrapper = mount(AddPanel)
    await paste(wrapper, VIDEO_URL)
    await wrapper.get('[data-testid="format-select"]').setValue('q:720')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(server.posted()).toEqual([{ url: VIDEO_URL, media_type: 'video', quality: '720', output_format: 'mp4' }])
  })

  it('switches to audio, offers audio formats and remembers the choices', async () => {
    const server = fakeServer()
    const wrapper = mount(AddPanel)
    await paste(wrapper, VIDEO_URL)
    await wrapper.get('[data-testid="media-audio"]').trigger('click')
    expect(wrapper.get('[data-testid="media-audio"]').attributes('aria-pressed')).toBe('true')
    const chips = wrapper.findAll('[data-testid^="output-format-"]').map((c) => c.text())
    expect(chips).toEqual(['MP3', 'M4A', 'OPUS', 'FLAC', 'WAV'])
    const groups = wrapper.findAll('[data-testid="format-select"] optgroup').map((g) => g.attributes('label'))
    expect(groups).toEqual(['Quality limit', 'Audio only', 'Video + audio'])
    await wrapper.get('[data-testid="output-format-opus"]').trigger('click')
    await wrapper.get('[data-testid="format-select"]').setValue('f:251')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(server.posted()).toEqual([{ url: VIDEO_URL, media_type: 'audio', format_id: '251', output_format: 'opus' }])

    // A new visit starts from the same choices.
    wrapper.unmount()
    setActivePinia(createPinia())
    const again = mount(AddPanel)
    expect(again.get('[data-testid="media-audio"]').attributes('aria-pressed')).toBe('true')
    expect(again.get('[data-testid="output-format-opus"]').attributes('aria-pressed')).toBe('true')
    await paste(again, VIDEO_URL)
    expect((again.get('[data-testid="format-select"]').element as HTMLSelectElement).value).toBe('f:251')
  })

  it('sends the selected playlist items as ranges', async () => {
    const server = fakeServer()
    const wrapper = mount(AddPanel)
    await paste(wrapper, LIST_URL)
    // No format list is asked for a playlist.
    expect(server.calls.filter((c) => c.url.startsWith('/api/formats'))).toHaveLength(0)
    const boxes = wrapper.findAll('[data-testid="playlist-item"]')
    expect(boxes).toHaveLength(3)
    expect(boxes.every((b) => (b.element as HTMLInputElement).checked)).toBe(true)

    await boxes[1].setValue(false)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(server.posted()[0]).toMatchObject({ url: LIST_URL, playlist_items: '1,3' })
  })

  it('sends no playlist_items when everything is selected, and refuses an empty selection', async () => {
    const server = fakeServer()
    const wrapper = mount(AddPanel)
    await paste(wrapper, LIST_URL)
    await wrapper.get('[data-testid="select-none"]').trigger('click')
    expect(wrapper.get('[data-testid="submit"]').attributes('disabled')).toBeDefined()
    await wrapper.get('[data-testid="select-all"]').trigger('click')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(server.posted()[0]).not.toHaveProperty('playlist_items')
  })

  it('says at once that text is not a link, and says it again on Enter', async () => {
    const server = fakeServer()
    const wrapper = mount(AddPanel)
    const input = wrapper.get('[data-testid="url-input"]')
    await input.setValue('htt')
    expect(wrapper.find('[data-testid="link-hint"]').exists()).toBe(false) // still being typed
    await input.setValue('hello world')
    expect(wrapper.get('[data-testid="link-hint"]').text()).toMatch(/not a link/)
    expect(input.attributes('aria-invalid')).toBe('true')
    expect(wrapper.get('[data-testid="submit"]').attributes('disabled')).toBeUndefined()
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="form-error"]').text()).toMatch(/not a link/)
    expect(server.posted()).toEqual([])
  })

  it('probes typed text after a pause, aborting the probe of the previous text', async () => {
    vi.useFakeTimers()
    try {
      const server = fakeServer({ hang: true })
      const wrapper = mount(AddPanel, { props: { debounceMs: 300 } })
      const input = wrapper.get('[data-testid="url-input"]')
      await input.setValue('https://media.example/a')
      await vi.advanceTimersByTimeAsync(100)
      expect(server.calls).toHaveLength(0)
      await vi.advanceTimersByTimeAsync(250)
      expect(server.calls).toHaveLength(1)
      expect(wrapper.find('[data-testid="probe-status"]').exists()).toBe(true)
      const first = server.calls[0]
      await input.setValue('https://media.example/b')
      expect(first.signal?.aborted).toBe(true)
      await vi.advanceTimersByTimeAsync(350)
      const probes = server.calls.filter((c) => c.url === '/api/url-info').map((c) => (c.body as { url: string }).url)
      expect(probes).toEqual(['https://media.example/a', 'https://media.example/b'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('shows a probe error in words', async () => {
    fakeServer({
      info: () =>
        jsonResponse(422, { error: { code: 'unsupported_url', message: 'This site is not supported.' } }),
    })
    const wrapper = mount(AddPanel)
    await paste(wrapper, VIDEO_URL)
    expect(wrapper.get('[data-testid="probe-error"]').text()).toBe('This site is not supported.')
  })

  it('shows why a download was refused', async () => {
    const fetchMock = vi.fn(async () =>
      jsonResponse(429, { error: { code: 'rate_limited', message: 'Too many downloads at once.' } }),
    )
    vi.stubGlobal('fetch', fetchMock)
    const wrapper = mount(AddPanel)
    await wrapper.get('[data-testid="url-input"]').setValue(VIDEO_URL)
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="form-error"]').text()).toBe('Too many downloads at once.')
  })

  it('asks for a link before submitting', async () => {
    const server = fakeServer()
    const wrapper = mount(AddPanel)
    await wrapper.get('[data-testid="url-input"]').setValue('not a link')
    await wrapper.get('form').trigger('submit')
    expect(wrapper.get('[data-testid="form-error"]').text()).toMatch(/http/)
    expect(server.posted()).toEqual([])
  })
})

describe('a shared link (/share?url=…)', () => {
  function arriveAt(search: string): void {
    history.replaceState(null, '', `/share${search}`)
    currentPath.value = '/share'
  }

  it('goes into the form with its preview started, and the address becomes /', async () => {
    const server = fakeServer()
    arriveAt(`?text=${encodeURIComponent('Look at this ' + VIDEO_URL)}`)
    const wrapper = mount(AddPanel)
    await flushPromises()
    expect((wrapper.get('[data-testid="url-input"]').element as HTMLInputElement).value).toBe(VIDEO_URL)
    expect(server.calls.some((c) => c.url === '/api/url-info')).toBe(true)
    expect(wrapper.find('[data-testid="preview"]').exists()).toBe(true)
    expect(server.posted()).toEqual([])
    expect(location.pathname).toBe('/')
    expect(currentPath.value).toBe('/')
  })

  it('is queued at once with the default preset when the server says so', async () => {
    const server = fakeServer({ shareQueues: true })
    arriveAt(`?url=${encodeURIComponent(VIDEO_URL)}`)
    const wrapper = mount(AddPanel)
    await flushPromises()
    expect(server.posted()).toEqual([{ url: VIDEO_URL }]) // no preset field: the default one
    expect(wrapper.get('[data-testid="added"]').text()).toContain('Added to the queue')
  })
})
