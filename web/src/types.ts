// The shapes the SPA exchanges with the server (SPEC §5). They are generated from the server's
// OpenAPI document into ./generated/openapi.ts (`./dev types`; `./dev test` fails when that file
// is stale), so a field means here what the server's model says it means. This module gives
// them their short names and adds what is the web app's own.

import type { components } from './generated/openapi'

type Schemas = components['schemas']

export type Job = Schemas['Job']
export type JobError = Schemas['JobError']
export type JobStatus = Job['status']
export type JobKind = Job['kind']
export type MediaType = Job['media_type']
export type PublicConfig = Schemas['PublicConfig']
export type SessionMode = PublicConfig['session_mode']
export type ThemeMode = PublicConfig['theme_default_mode']
export type PlaylistEntry = Schemas['PlaylistEntry']
export type UrlInfo = Schemas['UrlInfo']
export type FormatInfo = Schemas['FormatInfo']
export type NewDownload = Schemas['NewJob']
export type JobFile = Schemas['JobFile']
/** What a download can ask for beyond its format, as a request sends it (every field may be
 * left out; the job shows them all: `Schemas['DownloadOptions']`). */
export interface DownloadOptions {
  subtitles?: {
    languages: string[] | 'all'
    auto?: boolean
    mode?: 'embed' | 'sidecar'
    format?: 'srt' | 'vtt' | null
  } | null
  embed_thumbnail?: boolean
  embed_metadata?: boolean
  sponsorblock?: { action: 'remove' | 'mark'; categories: string[] } | null
  split_chapters?: boolean
  clip?: { start: number | string; end: number | string; exact?: boolean } | null
  folder?: string | null
  filename?: string | null
}
/** One of the admin's presets (`GET /api/presets`). */
export type Preset = Schemas['Preset']
export type NotificationTarget = Schemas['Target']
export type NewNotificationTarget = Schemas['NewTarget']
export type NotificationTest = Schemas['TestResult']
/** `POST /api/downloads/batch`: the jobs made and the lines refused. */
export type BatchResult = Schemas['BatchResult']

/** A `job_update` event's payload: the id plus whichever fields changed. */
export type JobPatch = Partial<Job> & { id: string }

export const ACTIVE_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'queued',
  'extracting',
  'downloading',
  'postprocessing',
])

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'completed',
  'failed',
  'cancelled',
])

/** The two views of the narrow layout. */
export type View = 'add' | 'queue'

/** One theme of `GET /api/themes`: a built-in or one of the admin's custom themes. */
export type ThemeInfo = Schemas['Theme']
/** A colour mode a theme belongs to (the effective mode once "system" is resolved). */
export type ThemeFamily = ThemeInfo['mode']
/** `GET /api/themes`: every theme, and the admin's defaults for people who never picked one. */
export type ThemeList = Schemas['ThemeList']

// ---- the admin panel (/api/admin) ----------------------------------------------------------

export type AdminStatus = Schemas['AdminStatus']
/** One browser session as the admin sees it: `id` is a stand-in, never the cookie. */
export type AdminSession = Schemas['SessionView']
export type DiskUsage = Schemas['DiskUsage']
export type StorageReport = Schemas['StorageReport']
/** One entry of the error log (a failed job). */
export type ErrorEntry = Schemas['ErrorView']
export type PurgeReport = Schemas['PurgeReport']
/** What a setting's declaration says: control type, help, bounds, choices. */
export type SettingFacts = Schemas['SettingFacts']
/** One setting as the panel shows it (`GET /api/admin/settings`), with its declared facts. */
export type SettingView = Schemas['SettingView'] & { facts?: SettingFacts }
export type ApiKeyState = Schemas['ApiKeyState']

// ---- yt-dlp's version and updates (/api/admin/ytdlp) -----------------------------------------

/** An update or rollback of yt-dlp as it goes (`update` in `GET /api/admin/ytdlp`). */
export type YtdlpUpdate = Schemas['UpdateProgress']
/** `GET /api/admin/ytdlp`: the running yt-dlp, the bundled one, the newest one. */
export type YtdlpStatus = Schemas['YtdlpStatus']

// Accounts (issue 14).
export type AuthMode = PublicConfig['auth_mode']
export type Me = Schemas['Me']
export type UserView = Schemas['UserView']
export type KeyView = Schemas['KeyView']
export type NewKeyMade = Schemas['NewKeyMade']
