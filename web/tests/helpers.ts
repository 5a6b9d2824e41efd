import type { FormatInfo, Job } from '../src/types'

let n = 0

/** A complete Job as the API shows it, newest by default. */
export function makeJob(overrides: Partial<Job> = {}): Job {
  n++
  const id = overrides.id ?? `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`
  return {
    id,
    kind: 'single',
    via_api: false,
    parent_id: null,
    subscription_id: null,
    url: `https://media.example/${id}`,
    title: `Video ${n}`,
    thumbnail: null,
    status: 'queued',
    media_type: 'video',
    format_id: null,
    quality: null,
    output_format: 'mp4',
    progress: 0,
    downloaded_bytes: null,
    total_bytes: null,
    speed: null,
    eta: null,
    filename: null,
    filesize: null,
    error: null,
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + n * 1000).toISOString(),
    options: {
      subtitles: null,
      embed_thumbnail: false,
      embed_metadata: false,
      sponsorblock: null,
      split_chapters: false,
      clip: null,
      folder: null,
      filename: null,
    },
    files: [],
    started_at: null,
    finished_at: null,
    ...overrides,
  }
}

/** A JSON Response like the server's. */
export function jsonResponse(status: number, body: unknown): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

export function fmt(o: Partial<FormatInfo>): FormatInfo {
  return {
    format_id: 'x',
    ext: 'mp4',
    resolution: null,
    height: null,
    fps: null,
    vcodec: null,
    acodec: null,
    filesize: null,
    tbr: null,
    note: null,
    ...o,
  }
}

export const SAMPLE_FORMATS: FormatInfo[] = [
  fmt({ format_id: '18', height: 360, vcodec: 'avc1.42001E', acodec: 'mp4a.40.2', resolution: '640x360' }),
  fmt({ format_id: '22', height: 720, vcodec: 'avc1.64001F', acodec: 'mp4a.40.2', fps: 30, filesize: 41_200_000 }),
  fmt({ format_id: '137', height: 1080, vcodec: 'avc1.640028', acodec: 'none', fps: 60 }),
  fmt({ format_id: '140', ext: 'm4a', vcodec: 'none', acodec: 'mp4a.40.2', tbr: 129.5, resolution: 'audio only' }),
  fmt({ format_id: '251', ext: 'webm', vcodec: null, acodec: 'opus', tbr: 160 }),
]

type Handler = (init: RequestInit, url: string) => Response | Promise<Response>

/**
 * A `fetch` that answers by "METHOD /path" (the query string ignored); anything else is a 404.
 * `calls` records every request as [method, url, parsed JSON body or undefined].
 */
export function routeFetch(routes: Record<string, Handler | Response | unknown>) {
  const calls: [string, string, unknown][] = []
  const fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const method = (init.method ?? 'GET').toUpperCase()
    const path = input.split('?')[0]
    let body: unknown
    if (typeof init.body === 'string') {
      try {
        body = JSON.parse(init.body)
      } catch {
        body = init.body
      }
    }
    calls.push([method, input, body])
    const route = routes[`${method} ${path}`]
    if (route === undefined) return jsonResponse(404, { error: { code: 'not_found', message: 'Not found.' } })
    if (typeof route === 'function') return (route as Handler)(init, input)
    if (route instanceof Response) return route.clone()
    return jsonResponse(200, route)
  }
  return { fetch, calls }
}

export function apiError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}
