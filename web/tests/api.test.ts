import { describe, expect, it, vi } from 'vitest'
import * as api from '../src/api'
import { jsonResponse } from './helpers'

describe('the API client', () => {
  it('sends JSON with the session cookie and returns the answer', async () => {
    const fetchMock = vi.fn(async () => jsonResponse(201, { id: 'j1' }))
    vi.stubGlobal('fetch', fetchMock)
    const job = await api.createDownload({ url: 'https://a.example/v', media_type: 'audio' })
    expect(job).toEqual({ id: 'j1' })
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/downloads')
    expect(init.method).toBe('POST')
    expect(init.credentials).toBe('same-origin')
    expect(JSON.parse(init.body as string)).toEqual({ url: 'https://a.example/v', media_type: 'audio' })
  })

  it('turns an error answer into an ApiError with the server\'s code and message', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => jsonResponse(409, { error: { code: 'not_retryable', message: 'Only failed or cancelled jobs can be retried.' } })),
    )
    const err = await api.retryDownload('x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(api.ApiError)
    expect(err).toMatchObject({ code: 'not_retryable', status: 409, message: 'Only failed or cancelled jobs can be retried.' })
  })

  it('explains an answer that is not JSON, and an unreachable server', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>Bad gateway</html>', { status: 502 })))
    await expect(api.listDownloads()).rejects.toMatchObject({ code: 'http_502', status: 502, message: expect.stringMatching(/HTTP 502/) })
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    await expect(api.listDownloads()).rejects.toMatchObject({ code: 'network_error', status: 0 })
  })

  it('echoes the session\'s CSRF cookie on changes, never on reads', async () => {
    document.cookie = 'mrip_csrf=tok123; path=/'
    const fetchMock = vi.fn(async () => jsonResponse(200, { jobs: [] }))
    vi.stubGlobal('fetch', fetchMock)
    await api.cancelDownload('j1')
    await api.listDownloads()
    const calls = fetchMock.mock.calls as unknown as [string, RequestInit][]
    expect((calls[0][1].headers as Record<string, string>)['X-CSRF-Token']).toBe('tok123')
    expect((calls[1][1].headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined()
    expect(api.csrfToken('a=1; mrip_csrf=x%3Dy')).toBe('x=y')
  })

  it('passes an abort through untouched', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new DOMException('aborted', 'AbortError'))))
    const err = await api.getUrlInfo('https://a.example').catch((e: unknown) => e)
    expect(api.isAbort(err)).toBe(true)
  })

  it('reads 204 as nothing, and builds the file and formats URLs', async () => {
    const fetchMock = vi.fn(async () => new Response(null, { status: 204 }))
    vi.stubGlobal('fetch', fetchMock)
    await expect(api.deleteDownload('a/b')).resolves.toBeUndefined()
    expect(fetchMock.mock.calls[0]).toEqual(['/api/downloads/a%2Fb', expect.objectContaining({ method: 'DELETE' })])
    expect(api.fileUrl('j 1')).toBe('/api/downloads/j%201/file')
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(200, { formats: [] })))
    await api.getFormats('https://a.example/v?x=1&y=2')
    expect((fetch as unknown as { mock: { calls: string[][] } }).mock.calls[0][0]).toBe(
      '/api/formats?url=https%3A%2F%2Fa.example%2Fv%3Fx%3D1%26y%3D2',
    )
  })

  it('uploads cookies as multipart field "file"', async () => {
    const fetchMock = vi.fn(async () => jsonResponse(200, { has_cookies: true }))
    vi.stubGlobal('fetch', fetchMock)
    await api.uploadCookies(new Blob(['# Netscape HTTP Cookie File\n']), 'cookies.txt')
    const init = (fetchMock.mock.calls[0] as unknown as [string, RequestInit])[1]
    expect(init.body).toBeInstanceOf(FormData)
    expect((init.body as FormData).get('file')).toBeInstanceOf(Blob)
    expect((init.headers as Record<string, string>)['Content-Type']).toBeUndefined()
  })
})
