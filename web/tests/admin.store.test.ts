import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as api from '../src/api'
import * as adminApi from '../src/adminApi'
import { lockMessage, SESSION_ENDED, useAdminStore } from '../src/stores/admin'
import { apiError, jsonResponse, routeFetch } from './helpers'

const LOGGED_OUT = { setup_required: false, logged_in: false, username: null, admin_enabled: true }
const LOGGED_IN = { setup_required: false, logged_in: true, username: 'boss', admin_enabled: true }

beforeEach(() => {
  setActivePinia(createPinia())
})

afterEach(() => {
  vi.useRealTimers()
})

describe('the admin store', () => {
  it('learns from the status whether setup, login or the panel comes', async () => {
    const { fetch } = routeFetch({ 'GET /api/admin/status': { ...LOGGED_OUT, setup_required: true } })
    vi.stubGlobal('fetch', fetch)
    const admin = useAdminStore()
    await admin.refresh()
    expect(admin.setupRequired).toBe(true)
    expect(admin.loggedIn).toBe(false)
    expect(admin.disabled).toBe(false)
  })

  it('knows the admin side is off when the status is a 404', async () => {
    vi.stubGlobal('fetch', routeFetch({}).fetch)
    const admin = useAdminStore()
    await admin.refresh()
    expect(admin.disabled).toBe(true)
    expect(admin.loadError).toBe('')
  })

  it('logs in, and says what the server says when it refuses', async () => {
    let right = false
    const { fetch, calls } = routeFetch({
      'POST /api/admin/login': () =>
        right ? jsonResponse(200, LOGGED_IN) : apiError(401, 'bad_credentials', 'Wrong username or password.'),
    })
    vi.stubGlobal('fetch', fetch)
    const admin = useAdminStore()
    const refused = await admin.login('boss', 'nope')
    expect(refused).toMatchObject({ ok: false, field: null, message: 'Wrong username or password.' })
    expect(admin.loggedIn).toBe(false)
    right = true
    expect(await admin.login('boss', 'correct horse')).toEqual({ ok: true })
    expect(admin.loggedIn).toBe(true)
    expect(admin.username).toBe('boss')
    expect(calls[1]).toEqual(['POST', '/api/admin/login', { username: 'boss', password: 'correct horse' }])
  })

  it('counts a lock-out down from Retry-After, and refuses to try meanwhile', async () => {
    vi.useFakeTimers()
    const { fetch, calls } = routeFetch({
      'POST /api/admin/login': apiError(429, 'too_many_attempts', 'Too many failed attempts.', { 'Retry-After': '7' }),
    })
    vi.stubGlobal('fetch', fetch)
    const admin = useAdminStore()
    const outcome = await admin.login('admin', 'guess')
    expect(outcome).toMatchObject({ ok: false, message: 'Too many attempts: try again in 7 s' })
    expect(admin.locked).toBe(true)
    expect(admin.lockSeconds).toBe(7)

    await vi.advanceTimersByTimeAsync(3000)
    expect(admin.lockSeconds).toBe(4)
    expect(await admin.login('admin', 'again')).toMatchObject({ ok: false, code: 'locked', message: lockMessage(4) })
    expect(calls).toHaveLength(1) // the locked attempt never reached the server

    await vi.advanceTimersByTimeAsync(4000)
    expect(admin.locked).toBe(false)
    expect(admin.lockSeconds).toBe(0)
  })

  it('puts setup refusals next to their field', async () => {
    let answer: Response = apiError(422, 'invalid_request', 'password: at least 8 characters, please')
    const { fetch, calls } = routeFetch({ 'POST /api/admin/setup': () => answer })
    vi.stubGlobal('fetch', fetch)
    const admin = useAdminStore()
    expect(await admin.setup(' tok ', '', 'short')).toMatchObject({
      ok: false,
      field: 'password',
      message: 'At least 8 characters, please',
    })
    expect(calls[0][2]).toEqual({ token: 'tok', password: 'short' }) // no username: the config's
    answer = apiError(401, 'bad_setup_token', 'That is not the setup token from the server log.')
    expect(await admin.setup('x', 'boss', 'long enough')).toMatchObject({
      field: 'token',
      message: 'That is not the setup token from the server log.',
    })
    expect(calls[1][2]).toEqual({ token: 'x', username: 'boss', password: 'long enough' })
    answer = jsonResponse(200, LOGGED_IN)
    expect(await admin.setup('tok', 'boss', 'long enough')).toEqual({ ok: true })
    expect(admin.loggedIn).toBe(true)
  })

  it('sends the panel back to the login form when a page finds the session ended', async () => {
    vi.stubGlobal('fetch', routeFetch({ 'POST /api/admin/login': LOGGED_IN }).fetch)
    const admin = useAdminStore()
    await admin.login('boss', 'correct horse')
    const said = admin.describe(new api.ApiError('admin_login_required', 'Log in to the admin panel first.', 401))
    expect(said).toBe(SESSION_ENDED)
    expect(admin.loggedIn).toBe(false)
    expect(admin.notice).toBe(SESSION_ENDED)
    expect(admin.describe(new api.ApiError('conflict', 'Busy.', 409))).toBe('Busy.')
  })

  it('logs out, also when the session had ended already', async () => {
    let status = 204
    const { fetch } = routeFetch({
      'POST /api/admin/login': LOGGED_IN,
      'POST /api/admin/logout': () =>
        status === 204 ? new Response(null, { status: 204 }) : apiError(401, 'admin_login_required', 'Log in first.'),
    })
    vi.stubGlobal('fetch', fetch)
    const admin = useAdminStore()
    await admin.login('boss', 'correct horse')
    await admin.logout()
    expect(admin.loggedIn).toBe(false)
    await admin.login('boss', 'correct horse')
    status = 401
    await admin.logout()
    expect(admin.loggedIn).toBe(false)
  })

  it('puts a wrong current password and a short new one under their fields', async () => {
    let answer: Response = apiError(403, 'wrong_password', 'current: that is not the current password')
    vi.stubGlobal('fetch', routeFetch({ 'POST /api/admin/password': () => answer }).fetch)
    const admin = useAdminStore()
    expect(await admin.changePassword('nope', 'a new password')).toMatchObject({
      field: 'current',
      message: 'That is not the current password',
    })
    answer = apiError(422, 'invalid_request', 'new: at least 8 characters, please')
    expect(await admin.changePassword('right one', 'x')).toMatchObject({ field: 'new' })
    answer = apiError(409, 'pinned', 'The admin password is set in the config (admin.password or admin.password_hash); change it there and restart.')
    expect(await admin.changePassword('right one', 'long enough')).toMatchObject({ field: null, code: 'pinned' })
    answer = jsonResponse(200, { changed: true })
    expect(await admin.changePassword('right one', 'long enough')).toEqual({ ok: true })
  })
})

describe('the admin API client', () => {
  it('reads Retry-After as seconds or as a date', () => {
    expect(api.parseRetryAfter('12')).toBe(12)
    expect(api.parseRetryAfter(null)).toBeNull()
    expect(api.parseRetryAfter('soon')).toBeNull()
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(api.parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30)
  })

  it('fetches the CSRF cookie and tries once more when the server wants the API key', async () => {
    let refusals = 1
    const { fetch, calls } = routeFetch({
      'DELETE /api/admin/api-key': () =>
        refusals-- > 0
          ? apiError(401, 'api_key_required', 'This server needs an API key for changes.')
          : jsonResponse(200, { configured: false, pinned: false, masked: null }),
      'GET /api/config/public': {},
    })
    vi.stubGlobal('fetch', fetch)
    await expect(adminApi.revokeApiKey()).resolves.toEqual({ configured: false, pinned: false, masked: null })
    expect(calls.map(([m, u]) => `${m} ${u}`)).toEqual([
      'DELETE /api/admin/api-key',
      'GET /api/config/public',
      'DELETE /api/admin/api-key',
    ])
  })

  it('gives up after one retry, and does not retry other refusals', async () => {
    const { fetch, calls } = routeFetch({
      'POST /api/admin/purge': apiError(401, 'api_key_required', 'This server needs an API key for changes.'),
      'DELETE /api/admin/errors': apiError(401, 'admin_login_required', 'Log in first.'),
    })
    vi.stubGlobal('fetch', fetch)
    await expect(adminApi.purgeNow()).rejects.toMatchObject({ code: 'api_key_required' })
    expect(calls).toHaveLength(3)
    await expect(adminApi.clearErrors()).rejects.toMatchObject({ code: 'admin_login_required' })
    expect(calls).toHaveLength(4)
  })

  it('asks for the CSRF cookie right after generating a key, and encodes setting keys', async () => {
    const { fetch, calls } = routeFetch({
      'POST /api/admin/api-key': jsonResponse(201, { configured: true, pinned: false, masked: '…wxyz', key: 'k'.repeat(40) }),
      'GET /api/config/public': {},
      'DELETE /api/admin/settings/ui.welcome_message': { settings: {} },
    })
    vi.stubGlobal('fetch', fetch)
    expect((await adminApi.generateApiKey()).key).toHaveLength(40)
    await adminApi.resetSetting('ui.welcome_message')
    expect(calls.map(([m, u]) => `${m} ${u}`)).toEqual([
      'POST /api/admin/api-key',
      'GET /api/config/public',
      'DELETE /api/admin/settings/ui.welcome_message',
    ])
  })
})
