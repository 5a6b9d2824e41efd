// The shapes the SPA exchanges with the server (SPEC §5). Kept in one place so the API client,
// the stores and the components agree on what a field means.

export type JobStatus =
  | 'queued'
  | 'extracting'
  | 'downloading'
  | 'postprocessing'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'paused'

export type JobKind = 'single' | 'playlist'
export type MediaType = 'video' | 'audio'
export type SessionMode = 'isolated' | 'shared' | 'open'
export type ThemeMode = 'dark' | 'light' | 'system'

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

export interface JobError {
  code: string
  message: string
}

export interface Job {
  id: string
  kind: JobKind
  parent_id: string | null
  url: string | null
  title: string | null
  thumbnail: string | null
  status: JobStatus
  media_type: MediaType | null
  format_id: string | null
  quality: string | null
  output_format: string | null
  progress: number
  downloaded_bytes: number | null
  total_bytes: number | null
  speed: number | null
  eta: number | null
  filename: string | null
  filesize: number | null
  error: JobError | null
  created_at: string | null
  started_at: string | null
  finished_at: string | null
  options?: DownloadOptions
  files?: JobFile[]
  /** The subscription whose check queued it (null: added by hand). */
  subscription_id?: string | null
}

export interface JobFile {
  name: string
  size: number
}

/** What a download can ask for beyond its format (the job's `options`). */
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
export interface Preset {
  id: string
  name: string
  media_type: MediaType | null
  format_id: string | null
  quality: string | null
  output_format: string | null
  options: DownloadOptions | null
}

export interface BatchResult {
  jobs: Job[]
  refused: { url: unknown; error: JobError }[]
}

/** A `job_update` event's payload: the id plus whichever fields changed. */
export type JobPatch = Partial<Job> & { id: string }

export interface PublicConfig {
  version: string
  session_mode: SessionMode
  welcome_message: string
  theme_dark: string
  theme_light: string
  theme_default_mode: ThemeMode
  max_concurrent: number
  output_formats: { video: string[]; audio: string[] }
  admin_enabled: boolean
}

export interface PlaylistEntry {
  index: number
  title: string | null
  url: string
  duration: number | null
}

export interface UrlInfo {
  type: 'single' | 'playlist'
  title: string | null
  duration: number | null
  thumbnail: string | null
  uploader: string | null
  is_audio_only: boolean
  count: number
  entries: PlaylistEntry[]
  subtitles?: string[]
  automatic_captions?: string[]
}

export interface FormatInfo {
  format_id: string
  ext: string | null
  resolution: string | null
  height: number | null
  fps: number | null
  vcodec: string | null
  acodec: string | null
  filesize: number | null
  tbr: number | null
  note: string | null
}

export interface NewDownload {
  url: string
  media_type?: MediaType
  format_id?: string
  quality?: string
  output_format?: string
  playlist_items?: string
  preset?: string | null
  options?: DownloadOptions
  paused?: boolean
}

/** The two views of the narrow layout. */
export type View = 'add' | 'queue'

/** A colour mode a theme belongs to (the effective mode once "system" is resolved). */
export type ThemeFamily = 'dark' | 'light'

/** One theme of `GET /api/themes`: a built-in or one of the admin's custom themes. */
export interface ThemeInfo {
  id: string
  name: string
  mode: ThemeFamily
  description: string
  author: string
  builtin: boolean
  has_preview: boolean
}

/** `GET /api/themes`: every theme, and the admin's defaults for people who never picked one. */
export interface ThemeList {
  themes: ThemeInfo[]
  defaults: { dark: string; light: string; mode: ThemeMode }
}

// ---- the admin panel (/api/admin) ----------------------------------------------------------

/** `GET /api/admin/status` (also the answer of setup and login). */
export interface AdminStatus {
  setup_required: boolean
  logged_in: boolean
  username: string | null
  admin_enabled: boolean
}

/** One browser session as the admin sees it: `id` is a stand-in, never the cookie. */
export interface AdminSession {
  id: string
  created_at: string | null
  last_seen: string | null
  /** status -> how many jobs */
  jobs: Record<string, number>
  bytes: number
}

export interface DiskUsage {
  total: number
  used: number
  free: number
}

/** `GET /api/admin/storage`. */
export interface StorageReport {
  disk: DiskUsage
  jobs: Record<string, number>
  files_bytes: number
  sessions: AdminSession[]
}

/** One entry of the error log (a failed job). */
export interface ErrorEntry {
  at: string
  job_id: string
  session_id: string
  url: string
  code: string
  message: string
}

/** What a purge run removed. */
export interface PurgeReport {
  jobs: number
  files: number
  bytes: number
  sessions: number
  errors: number
}

/** One setting as the panel shows it (`GET /api/admin/settings`). */
export interface SettingView {
  key: string
  value: unknown
  /** Set by the environment (MEDIARIP__…): shown, never changed here. */
  pinned: boolean
  editable: boolean
  /** Changed in the panel (a reset goes back to the config's or the default value). */
  overridden: boolean
  applies: 'now' | 'restart'
}

export interface ApiKeyState {
  configured: boolean
  /** Set in the config (server.api_key): cannot be generated or revoked here. */
  pinned: boolean
  /** "…" and the last four characters, or null. */
  masked: string | null
}
