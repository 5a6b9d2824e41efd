// The admin panel's client for /api/admin: one function per endpoint, through the same
// `request()` as the rest of the app (same origin, cookies, the CSRF header on changes, every
// failure an ApiError). The admin cookie is HttpOnly with Path=/api/admin: the browser sends it
// by itself, and the panel learns whether it is logged in from `getAdminStatus()`.

import { ApiError, getPublicConfig, request, type RequestOptions } from './api'
import type {
  AdminSession,
  AdminStatus,
  ApiKeyState,
  DownloadOptions,
  ErrorEntry,
  Job,
  MediaType,
  NewNotificationTarget,
  NotificationTarget,
  NotificationTest,
  Preset,
  PurgeReport,
  SettingFacts,
  SettingView,
  StorageReport,
  YtdlpStatus,
} from './types'

const enc = encodeURIComponent

/**
 * `request()`, once more after a 401 `api_key_required`. With an API key set, the server wants
 * this app's CSRF token on every change, and hands out the `mrip_csrf` cookie only with some
 * answers (the page, `/api/config/public`); right after the panel generates the first key the
 * browser does not have it yet. Asking for the public config fetches it; the refused request had
 * changed nothing, so sending it again is safe.
 */
async function adminRequest<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  try {
    return await request<T>(path, opts)
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'api_key_required') throw err
    await refreshCsrfCookie()
    return request<T>(path, opts)
  }
}

/** Have the server set this session's CSRF cookie (it does with the public config). */
export async function refreshCsrfCookie(): Promise<void> {
  try {
    await getPublicConfig()
  } catch {
    // The retry will say what is wrong.
  }
}

export function getAdminStatus(): Promise<AdminStatus> {
  return request<AdminStatus>('/api/admin/status')
}

export interface SetupBody {
  token: string
  username?: string
  password: string
}

export function setupAdmin(body: SetupBody): Promise<AdminStatus> {
  return adminRequest<AdminStatus>('/api/admin/setup', { method: 'POST', json: body })
}

export function loginAdmin(username: string, password: string): Promise<AdminStatus> {
  return adminRequest<AdminStatus>('/api/admin/login', {
    method: 'POST',
    json: { username, password },
  })
}

export function logoutAdmin(): Promise<void> {
  return adminRequest<void>('/api/admin/logout', { method: 'POST' })
}

export function changeAdminPassword(current: string, next: string): Promise<{ changed: boolean }> {
  return adminRequest<{ changed: boolean }>('/api/admin/password', {
    method: 'POST',
    json: { current, new: next },
  })
}

export async function listAdminSessions(): Promise<AdminSession[]> {
  return (await request<{ sessions: AdminSession[] }>('/api/admin/sessions')).sessions
}

export async function listSessionJobs(sessionId: string): Promise<Job[]> {
  return (await request<{ jobs: Job[] }>(`/api/admin/sessions/${enc(sessionId)}/jobs`)).jobs
}

export function getStorage(): Promise<StorageReport> {
  return request<StorageReport>('/api/admin/storage')
}

export async function listErrors(limit = 100): Promise<ErrorEntry[]> {
  return (await request<{ errors: ErrorEntry[] }>(`/api/admin/errors?limit=${limit}`)).errors
}

export async function clearErrors(): Promise<number> {
  return (await adminRequest<{ removed: number }>('/api/admin/errors', { method: 'DELETE' })).removed
}

export function purgeNow(): Promise<PurgeReport> {
  return adminRequest<PurgeReport>('/api/admin/purge', { method: 'POST' })
}

type SettingsBody = {
  settings: Record<string, SettingView>
  fields?: Record<string, SettingFacts>
}

/** Every setting, in the server's order (the config's sections), with its declared facts. */
function settingsList(body: SettingsBody): SettingView[] {
  return Object.values(body.settings).map((s) => ({ ...s, facts: body.fields?.[s.key] }))
}

export async function getSettings(): Promise<SettingView[]> {
  return settingsList(await request<SettingsBody>('/api/admin/settings'))
}

/** Change some settings (dotted key -> value): all or none. Answers every setting. */
export async function changeSettings(changes: Record<string, unknown>): Promise<SettingView[]> {
  return settingsList(
    await adminRequest<SettingsBody>('/api/admin/settings', { method: 'PATCH', json: changes }),
  )
}

/** Drop the panel's value of `key`: back to the config's (or the default) value. */
export async function resetSetting(key: string): Promise<SettingView[]> {
  return settingsList(
    await adminRequest<SettingsBody>(`/api/admin/settings/${enc(key)}`, { method: 'DELETE' }),
  )
}

/** A preset as the admin sends it (`default: true` makes it the default). */
export interface PresetBody {
  name: string
  media_type?: MediaType | null
  format_id?: string | null
  quality?: string | null
  output_format?: string | null
  options?: DownloadOptions | null
  default?: boolean
}

export function createPreset(body: PresetBody): Promise<Preset> {
  return adminRequest<Preset>('/api/admin/presets', { method: 'POST', json: body })
}

/** Change the fields given (null clears one). */
export function updatePreset(id: string, body: Partial<PresetBody>): Promise<Preset> {
  return adminRequest<Preset>(`/api/admin/presets/${enc(id)}`, { method: 'PATCH', json: body })
}

export async function deletePreset(id: string): Promise<void> {
  await adminRequest<unknown>(`/api/admin/presets/${enc(id)}`, { method: 'DELETE' })
}

export function getApiKey(): Promise<ApiKeyState> {
  return request<ApiKeyState>('/api/admin/api-key')
}

/** A new key, replacing any other: the only time it is seen whole. */
export async function generateApiKey(): Promise<ApiKeyState & { key: string }> {
  const answer = await adminRequest<ApiKeyState & { key: string }>('/api/admin/api-key', {
    method: 'POST',
  })
  // Changes from this app now need the CSRF cookie, which the server hands out only while a
  // key is set: fetch it now, before the next change.
  await refreshCsrfCookie()
  return answer
}

export function revokeApiKey(): Promise<ApiKeyState> {
  return adminRequest<ApiKeyState>('/api/admin/api-key', { method: 'DELETE' })
}

export function getYtdlp(signal?: AbortSignal): Promise<YtdlpStatus> {
  return request<YtdlpStatus>('/api/admin/ytdlp', { signal })
}

/** Ask the package index for the newest yt-dlp now. */
export function checkYtdlp(): Promise<YtdlpStatus> {
  return adminRequest<YtdlpStatus>('/api/admin/ytdlp/check', { method: 'POST' })
}

/** Start installing the newest yt-dlp (202); the server restarts itself when it is in place. */
export function updateYtdlp(channel?: 'stable' | 'nightly'): Promise<YtdlpStatus> {
  return adminRequest<YtdlpStatus>('/api/admin/ytdlp/update', {
    method: 'POST',
    json: channel ? { channel } : {},
  })
}

/** Back to the bundled yt-dlp (202); the server restarts itself. */
export function rollbackYtdlp(): Promise<YtdlpStatus> {
  return adminRequest<YtdlpStatus>('/api/admin/ytdlp/rollback', { method: 'POST' })
}

// -- notification targets ----------------------------------------------------------------------

export async function listNotificationTargets(): Promise<NotificationTarget[]> {
  return (await adminRequest<{ targets: NotificationTarget[] }>('/api/admin/notifications')).targets
}

export function createNotificationTarget(body: NewNotificationTarget): Promise<NotificationTarget> {
  return adminRequest<NotificationTarget>('/api/admin/notifications', { method: 'POST', json: body })
}

export function updateNotificationTarget(
  id: string,
  body: Partial<NewNotificationTarget>,
): Promise<NotificationTarget> {
  return adminRequest<NotificationTarget>(`/api/admin/notifications/${enc(id)}`, {
    method: 'PATCH',
    json: body,
  })
}

export async function deleteNotificationTarget(id: string): Promise<void> {
  await adminRequest<unknown>(`/api/admin/notifications/${enc(id)}`, { method: 'DELETE' })
}

export function testNotificationTarget(id: string): Promise<NotificationTest> {
  return adminRequest<NotificationTest>(`/api/admin/notifications/${enc(id)}/test`, { method: 'POST' })
}
