// The format picker's model: group the server's formats into "video + audio", "video only" and
// "audio only", label each one for a person, and encode the choice (a format id or a quality
// limit) in one string a <select> can hold.

import { formatBytes } from './format'
import type { FormatInfo, MediaType } from './types'

export type FormatGroupKey = 'av' | 'video' | 'audio' | 'other'

export interface FormatGroup {
  key: FormatGroupKey
  label: string
  formats: FormatInfo[]
}

const GROUP_LABELS: Record<FormatGroupKey, string> = {
  av: 'Video + audio',
  video: 'Video only',
  audio: 'Audio only',
  other: 'Formats (codecs not stated)',
}

/** "none", null, undefined and "" all mean the stream is absent. */
export function hasCodec(codec: string | null | undefined): boolean {
  return typeof codec === 'string' && codec !== '' && codec !== 'none'
}

export function groupOf(f: FormatInfo): FormatGroupKey {
  const v = hasCodec(f.vcodec)
  const a = hasCodec(f.acodec)
  if (v && a) return 'av'
  if (v) return 'video'
  if (a) return 'audio'
  return 'other'
}

function byQuality(a: FormatInfo, b: FormatInfo): number {
  return (b.height ?? 0) - (a.height ?? 0) || (b.tbr ?? 0) - (a.tbr ?? 0)
}

/**
 * The groups to offer for a media type, best first within each, empty groups left out.
 * Audio downloads are offered only formats that carry sound (audio only first).
 */
export function groupFormats(formats: readonly FormatInfo[], mediaType: MediaType): FormatGroup[] {
  const buckets: Record<FormatGroupKey, FormatInfo[]> = { av: [], video: [], audio: [], other: [] }
  for (const f of formats) buckets[groupOf(f)].push(f)
  // A format whose codecs the site does not state is offered for video only: for audio, "best"
  // (whose sound is extracted) says the same more truthfully.
  const order: FormatGroupKey[] =
    mediaType === 'audio' ? ['audio', 'av'] : ['av', 'video', 'audio', 'other']
  return order
    .filter((key) => buckets[key].length > 0)
    .map((key) => ({ key, label: GROUP_LABELS[key], formats: buckets[key].slice().sort(byQuality) }))
}

function shortCodec(codec: string | null): string {
  return hasCodec(codec) ? (codec as string).split('.')[0] : ''
}

/** e.g. "1080p · mp4 · avc1 · 60 fps · 41.2 MB" or "m4a · mp4a · 129 kb/s · 3.10 MB". */
export function formatLabel(f: FormatInfo): string {
  const parts: string[] = []
  const group = groupOf(f)
  if (group !== 'audio') {
    if (f.height) parts.push(`${f.height}p`)
    else if (f.resolution && f.resolution !== 'audio only') parts.push(f.resolution)
  }
  if (f.ext) parts.push(f.ext)
  const codecs = [shortCodec(f.vcodec), shortCodec(f.acodec)].filter(Boolean).join('+')
  if (codecs) parts.push(codecs)
  if (f.fps && group !== 'audio') parts.push(`${Math.round(f.fps)} fps`)
  if (group === 'audio' && f.tbr) parts.push(`${Math.round(f.tbr)} kb/s`)
  if (f.filesize) parts.push(formatBytes(f.filesize))
  if (f.note) parts.push(f.note)
  // Never a bare id: "mp4" alone reads like a choice of quality, and it is not one.
  if (parts.length === 0) return `Format ${f.format_id} · quality not stated`
  if (parts.length === 1 && parts[0] === f.ext) return `${f.ext} file · quality not stated`
  return parts.join(' · ')
}

/** A quality limit offered before the formats (and instead of them for playlists). */
export interface QualityPreset {
  value: string
  label: string
}

export const QUALITY_PRESETS: Record<MediaType, QualityPreset[]> = {
  video: [
    { value: '2160', label: 'Up to 2160p (4K)' },
    { value: '1080', label: 'Up to 1080p' },
    { value: '720', label: 'Up to 720p' },
    { value: '480', label: 'Up to 480p' },
  ],
  audio: [
    { value: '320', label: 'Up to 320 kb/s' },
    { value: '192', label: 'Up to 192 kb/s' },
    { value: '128', label: 'Up to 128 kb/s' },
  ],
}

/** The picker's value: "best", "q:<quality>" or "f:<format_id>". */
export type FormatChoice = string
export const BEST: FormatChoice = 'best'

export function choiceToBody(choice: FormatChoice): { format_id?: string; quality?: string } {
  if (choice.startsWith('f:')) return { format_id: choice.slice(2) }
  if (choice.startsWith('q:')) return { quality: choice.slice(2) }
  return {}
}

/**
 * The quality limits to offer. Without a format list (a playlist, or formats still loading or
 * not listed), the usual steps, since the items may differ. With one, only what the link has:
 * each video height it offers below its best ("Up to 720p" when 1080p and 720p exist; none at
 * all for a single height, which "Best available" already is), and for audio the usual bitrates
 * below its best stated one.
 */
export function qualityPresets(
  mediaType: MediaType,
  formats: readonly FormatInfo[],
  known: boolean,
): QualityPreset[] {
  if (!known) return QUALITY_PRESETS[mediaType]
  if (mediaType === 'video') {
    const heights = [
      ...new Set(formats.filter((f) => f.height && groupOf(f) !== 'audio').map((f) => f.height as number)),
    ].sort((a, b) => b - a)
    return heights.slice(1).map((h) => ({ value: String(h), label: `Up to ${h}p` }))
  }
  const best = Math.max(0, ...formats.filter((f) => hasCodec(f.acodec)).map((f) => f.tbr ?? 0))
  return QUALITY_PRESETS.audio.filter((p) => Number(p.value) < best)
}

/** "1 format found", "3 formats found". */
export function formatsFound(n: number): string {
  return `${n} ${n === 1 ? 'format' : 'formats'} found.`
}

/** Is a remembered choice still on offer? */
export function choiceAvailable(
  choice: FormatChoice,
  mediaType: MediaType,
  formats: readonly FormatInfo[],
  known = false,
): boolean {
  if (choice === BEST) return true
  if (choice.startsWith('q:')) {
    return qualityPresets(mediaType, formats, known).some((p) => `q:${p.value}` === choice)
  }
  if (choice.startsWith('f:')) {
    const id = choice.slice(2)
    return groupFormats(formats, mediaType).some((g) => g.formats.some((f) => f.format_id === id))
  }
  return false
}
