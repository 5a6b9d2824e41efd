// The typed client for SPEC §5: one function per endpoint, same origin, cookie session.
// Every failure becomes an ApiError carrying the server's code and message (or words of our
// own when the server could not be reached or did not answer JSON).

import type {
  BatchResult,
  FormatInfo,
  Job,
  JobStatus,
  NewDownload,
  Preset,
  PublicConfig,
  ThemeList,
  UrlInfo,
} from './types'

export class ApiError extends Error {
  readonly code: string
  readonly status: number
  /** Seconds the server asked us to wait (`Retry-After` of a 429), when it said. */
  readonly retryAfter: number | null

  constructor(code: string, message: string, status: number, retryAfter: number | null = null) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.retryAfter = retryAfter
  }
}

/** `Retry-After` in whole seconds (a number or an HTTP date), or null. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000))
}

/** True for the error `fetch` throws when its AbortController fired. */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException
    ? err.name === 'AbortError'
    : typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError'
}

export interface RequestOptions {
  method?: string
  json?: unknown
  body?: BodyInit
  signal?: AbortSignal
}

function fallbackMessage(status: number): string {
  if (status === 404) return 'Not found.'
  if (status === 413) return 'That is too large for the server to accept.'
  if (status === 429) return 'Too many requests: wait a moment and try again.'
  if (status >= 500) return `The server ran into a problem (HTTP ${status}). Try again shortly.`
  return `The request was refused (HTTP ${status}).`
}

/**
 * The CSRF token the server put in the `mrip_csrf` cookie for this session. Echoed in
 * `X-CSRF-Token` on every request that changes something, it proves the request comes from
 * this app (a server with an API key refuses changes that carry neither).
 */
export function csrfToken(cookies: string = document.cookie): string | null {
  for (const part of cookies.split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name === 'mrip_csrf') return decodeURIComponent(rest.join('='))
  }
  return null
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const sentToken = csrfToken()
  try {
    return await send<T>(path, opts, sentToken)
  } catch (err) {
    // A page opened before an API key was set may not hold the CSRF cookie yet; the refusal
    // brings it, so one more try with it succeeds.
    const token = csrfToken()
    if (err instanceof ApiError && err.code === 'api_key_required' && token && token !== sentToken) {
      return await send<T>(path, opts, token)
    }
    throw err
  }
}

async function send<T>(path: string, opts: RequestOptions, token: string | null): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const method = opts.method ?? 'GET'
  if (method !== 'GET' && token) headers['X-CSRF-Token'] = token
  let body = opts.body
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.json)
  }
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    })
  } catch (err) {
    if (isAbort(err)) throw err
    throw new ApiError(
      'network_error',
      'Could not reach the server. Check your connection and try again.',
      0,
    )
  }
  if (res.status === 204) return undefined as T
  let data: unknown = null
  const text = await res.text()
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = null
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: unknown; message?: unknown } } | null)?.error
    const code = typeof err?.code === 'string' ? err.code : `http_${res.status}`
    const message =
      typeof err?.message === 'string' && err.message ? err.message : fallbackMessage(res.status)
    const retryAfter = res.status === 429 ? parseRetryAfter(res.headers.get('Retry-After')) : null
    throw new ApiError(code, message, res.status, retryAfter)
  }
  return data as T
}

const enc = encodeURIComponent

export function getPublicConfig(): Promise<PublicConfig> {
  return request<PublicConfig>('/api/config/public')
}

export function getThemes(): Promise<ThemeList> {
  return request<ThemeList>('/api/themes')
}

/** A theme's stylesheet, scoped to `:root[data-theme="<id>"]`: link to it, do not fetch it. */
export function themeCssUrl(id: string): string {
  return `/api/themes/${enc(id)}/theme.css`
}

export function getUrlInfo(url: string, signal?: AbortSignal): Promise<UrlInfo> {
  return request<UrlInfo>('/api/url-info', { method: 'POST', json: { url }, signal })
}

export async function getFormats(url: string, signal?: AbortSignal): Promise<FormatInfo[]> {
  const data = await request<{ formats: FormatInfo[] }>(`/api/formats?url=${enc(url)}`, { signal })
  return data.formats
}

export function createDownload(body: NewDownload): Promise<Job> {
  return request<Job>('/api/downloads', { method: 'POST', json: body })
}

export function createBatch(body: Omit<NewDownload, 'url'> & { urls: string[] }): Promise<BatchResult> {
  return request<BatchResult>('/api/downloads/batch', { method: 'POST', json: body })
}

export async function getPresets(): Promise<{ presets: Preset[]; default: string | null }> {
  return request<{ presets: Preset[]; default: string | null }>('/api/presets')
}

export function pauseDownload(id: string): Promise<Job> {
  return request<Job>(`/api/downloads/${enc(id)}/pause`, { method: 'POST' })
}

export function startDownload(id: string): Promise<Job> {
  return request<Job>(`/api/downloads/${enc(id)}/start`, { method: 'POST' })
}

export async function listDownloads(): Promise<Job[]> {
  const data = await request<{ jobs: Job[] }>('/api/downloads')
  return data.jobs
}

export function getDownload(id: string): Promise<Job> {
  return request<Job>(`/api/downloads/${enc(id)}`)
}

export function cancelDownload(id: string): Promise<Job> {
  return request<Job>(`/api/downloads/${enc(id)}/cancel`, { method: 'POST' })
}

export function retryDownload(id: string): Promise<Job> {
  return request<Job>(`/api/downloads/${enc(id)}/retry`, { method: 'POST' })
}

/** Delete a job; with `keepFile` only forget it (its files stay in the downloads folder). */
export function deleteDownload(id: string, keepFile = false): Promise<void> {
  const query = keepFile ? '?keep_file=true' : ''
  return request<void>(`/api/downloads/${enc(id)}${query}`, { method: 'DELETE' })
}

/** Undo a delete made with `keepFile` (for two minutes): the job comes back as it was. */
export function restoreDownload(id: string): Promise<Job> {
  return request<Job>(`/api/downloads/${enc(id)}/restore`, { method: 'POST' })
}

/** Remove every finished job with one of `statuses` (their files too, unless `keepFiles`). */
export async function clearDownloads(statuses: JobStatus[], keepFiles: boolean): Promise<number> {
  const data = await request<{ removed: number }>('/api/downloads/clear', {
    method: 'POST',
    json: { statuses, keep_files: keepFiles },
  })
  return data.removed
}

/** Queue again every job with one of `statuses` (failed, cancelled). */
export async function retryDownloads(statuses: JobStatus[]): Promise<number> {
  const data = await request<{ retried: number }>('/api/downloads/retry', {
    method: 'POST',
    json: { statuses },
  })
  return data.retried
}

/** Whether this browser shows the jobs added with the API key. */
export async function getApiJobsShown(): Promise<boolean> {
  const data = await request<{ api_jobs?: boolean | null }>('/api/queue')
  return data.api_jobs === true
}

/** Show (with the key) or hide the jobs added with the API key in this browser's queue. */
export async function setApiJobsShown(key: string | null): Promise<boolean> {
  const data = key
    ? await request<{ api_jobs: boolean }>('/api/queue/api-jobs', { method: 'POST', json: { key } })
    : await request<{ api_jobs: boolean }>('/api/queue/api-jobs', { method: 'DELETE' })
  return data.api_jobs
}

/** Where the finished file of a job is served (an attachment): link to it, do not fetch it. */
export function fileUrl(id: string): string {
  return `/api/downloads/${enc(id)}/file`
}

export const EVENTS_URL = '/api/events'

export async function getCookies(): Promise<boolean> {
  const data = await request<{ has_cookies: boolean }>('/api/cookies')
  return data.has_cookies
}

export function uploadCookies(file: Blob, name = 'cookies.txt'): Promise<unknown> {
  const form = new FormData()
  form.append('file', file, name)
  return request<unknown>('/api/cookies', { method: 'POST', body: form })
}

export function deleteCookies(): Promise<void> {
  return request<void>('/api/cookies', { method: 'DELETE' })
}
