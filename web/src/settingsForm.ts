// The settings form's model, without Vue: what kind of field a setting gets, its value as the
// field shows it (the "draft"), the value a draft stands for, and which field a refusal of the
// server is about.

import { type EntryShape, extractorArgs, namedOptions, textList, textMap } from './settingEntries'
import type { SettingFacts, SettingView } from './types'

/**
 * - `boolean`: a checkbox;
 * - `number`: a text field for a number (anything else typed goes to the server as typed, so its
 *   own message explains what it wants);
 * - `string`: a text field, taken as typed;
 * - `nullable`: a setting that is unset now, of unknown type: empty means unset, a JSON value
 *   (a number, true, a list …) is taken as such, anything else as text;
 * - `json`: a list or a map, edited as JSON.
 */
export type SettingKind = 'boolean' | 'number' | 'string' | 'nullable' | 'json'

export type Draft = string | boolean

/**
 * The control a setting gets, from what its declaration says (``facts``, from the server):
 * a toggle, a select of its choices, a number field with its bounds, a template map (rows, with a
 * preview of the file name), a list (rows), named options or extractor arguments (rows), JSON for
 * other maps, or a text field.
 */
export type Control =
  | 'toggle'
  | 'select'
  | 'number'
  | 'templates'
  | 'list'
  | 'options'
  | 'extractor_args'
  | 'json'
  | 'text'

export function controlOf(setting: SettingView): Control {
  const facts = setting.facts
  const kind = kindOf(setting.value)
  if (!facts) return kind === 'boolean' ? 'toggle' : kind === 'json' ? 'json' : 'text'
  switch (facts.type) {
    case 'boolean':
      return 'toggle'
    case 'choice':
      return facts.choices.length && typeof setting.value === 'string' ? 'select' : 'text'
    case 'integer':
    case 'number':
      return 'number'
    case 'templates':
      return 'templates'
    case 'list':
      return 'list'
    case 'options':
      return 'options'
    case 'extractor_args':
      return 'extractor_args'
    case 'map':
      return 'json'
    default:
      return kind === 'json' ? 'json' : 'text'
  }
}

/** The bounds of a number field, for its min/max/step attributes. */
export function numberBounds(facts: SettingFacts | undefined): {
  min?: number
  max?: number
  step: number | 'any'
} {
  return {
    min: facts?.minimum ?? undefined,
    max: facts?.maximum ?? undefined,
    step: facts?.type === 'integer' ? 1 : 'any',
  }
}

const SAMPLE: Record<string, string> = {
  title: 'Big Buck Bunny',
  id: 'aqz-KE-bpKQ',
  ext: 'mp4',
  uploader: 'Blender',
  upload_date: '20080410',
  playlist: 'Open movies',
  playlist_index: '01',
  extractor: 'youtube',
}

/**
 * The file name a yt-dlp output template would give a sample video: ``%(title)s [%(id)s].%(ext)s``
 * gives ``Big Buck Bunny [aqz-KE-bpKQ].mp4``. Fields without a sample show as their name.
 */
export function previewTemplate(template: string): string {
  return template.replace(/%\(([a-z_]+)\)[-#0+ ]*\d*(?:\.\d+)?[a-z]/g, (_m, name: string) =>
    SAMPLE[name] ?? name,
  )
}

/** ``domain -> preview`` of every template in a draft of ``downloads.source_templates``. */
export function previewTemplates(draft: Draft): [string, string][] {
  try {
    const value: unknown = JSON.parse(String(draft))
    if (!value || typeof value !== 'object' || Array.isArray(value)) return []
    return Object.entries(value as Record<string, unknown>)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([domain, template]) => [domain, previewTemplate(template)])
  } catch {
    return []
  }
}

export function kindOf(value: unknown): SettingKind {
  if (typeof value === 'boolean') return 'boolean'
  if (typeof value === 'number') return 'number'
  if (typeof value === 'string') return 'string'
  if (value === null || value === undefined) return 'nullable'
  return 'json'
}

export function toDraft(value: unknown): Draft {
  switch (kindOf(value)) {
    case 'boolean':
      return value as boolean
    case 'number':
      return String(value)
    case 'string':
      return value as string
    case 'nullable':
      return ''
    case 'json':
      return JSON.stringify(value, null, 2)
  }
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string }

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/

/** The value a field's draft stands for, given the kind of the setting. */
export function fromDraft(draft: Draft, kind: SettingKind): Parsed {
  if (kind === 'boolean') return { ok: true, value: draft === true }
  const text = typeof draft === 'string' ? draft : String(draft)
  const trimmed = text.trim()
  switch (kind) {
    case 'number':
      if (trimmed === '') return { ok: true, value: null }
      return { ok: true, value: NUMBER.test(trimmed) ? Number(trimmed) : trimmed }
    case 'string':
      return { ok: true, value: text }
    case 'nullable':
      if (trimmed === '') return { ok: true, value: null }
      try {
        return { ok: true, value: JSON.parse(trimmed) }
      } catch {
        return { ok: true, value: trimmed }
      }
    case 'json':
      try {
        return { ok: true, value: JSON.parse(trimmed) }
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err)
        return { ok: false, error: `This is not valid JSON (${why}).` }
      }
  }
}

/** The same JSON value (key order counts: the server keeps it). */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Whether the draft stands for something other than the setting's value. */
export function isChanged(setting: SettingView, draft: Draft): boolean {
  const parsed = fromDraft(draft, kindOf(setting.value))
  return !parsed.ok || !sameValue(parsed.value, setting.value)
}

/** "Too long. (x)" → "Too long. (x)"; "expected …" → "Expected …". */
function sentence(text: string): string {
  const t = text.trim()
  return t ? t.charAt(0).toUpperCase() + t.slice(1) : t
}

export interface SortedErrors {
  /** key -> what is wrong with it (the server's words, without the key in front) */
  fields: Record<string, string>
  /** what could not be tied to one field */
  other: string[]
}

/**
 * The lines of a refusal (one problem a line, each starting with the dotted key it is about,
 * e.g. `downloads.max_concurrent: expected an integer from 1 to 32, got 0 (from admin settings)`
 * or `session.mode is set by the environment (…)`) sorted by field.
 */
export function sortErrors(message: string, keys: Iterable<string>): SortedErrors {
  const known = [...keys].sort((a, b) => b.length - a.length) // the longest key that fits
  const out: SortedErrors = { fields: {}, other: [] }
  for (const line of message.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const key = known.find((k) => line.startsWith(`${k}:`) || line.startsWith(`${k} `))
    if (!key) {
      out.other.push(line)
      continue
    }
    const rest = line.startsWith(`${key}:`) ? sentence(line.slice(key.length + 1)) : line
    out.fields[key] = out.fields[key] ? `${out.fields[key]} ${rest}` : rest
  }
  return out
}

/** `max_concurrent` → "Max concurrent". */
export function settingLabel(key: string): string {
  const name = key.split('.').slice(1).join('.') || key
  return sentence(name.replace(/_/g, ' '))
}

export const SECTION_TITLES: Record<string, string> = {
  server: 'Server',
  downloads: 'Downloads',
  ytdlp: 'yt-dlp',
  session: 'Sessions',
  purge: 'Purge',
  subscriptions: 'Subscriptions',
  ui: 'Interface',
  admin: 'Admin',
  metrics: 'Metrics',
}

/** The environment variable that pins `key` (as the server names it). */
export function envVariable(key: string): string {
  return 'MEDIARIP__' + key.replace(/\./g, '__').toUpperCase()
}

/** The form's field id for a setting. */
export function fieldId(key: string): string {
  return 'setting-' + key.replace(/[^a-zA-Z0-9_-]/g, '-')
}

/**
 * A server message "<field>: <what is wrong>" split into the field (when it is one of
 * `fields`) and the words; any other message stays whole.
 */
export function splitFieldMessage(
  message: string,
  fields: readonly string[],
): { field: string | null; text: string } {
  const match = /^([a-z_]+):\s*(.*)$/s.exec(message.trim())
  if (match && fields.includes(match[1])) return { field: match[1], text: sentence(match[2]) }
  return { field: null, text: message }
}

/** The rows a row-edited control shows (see settingEntries.ts), or null for other controls. */
export function entryShapeOf(control: Control, facts: SettingFacts | undefined): EntryShape | null {
  switch (control) {
    case 'templates':
      return textMap('Domain', 'Template')
    case 'list':
      return textList('Address')
    case 'options':
      return namedOptions(facts?.choices ?? [])
    case 'extractor_args':
      return extractorArgs
    default:
      return null
  }
}
