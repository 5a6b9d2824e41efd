import { describe, expect, it } from 'vitest'
import { choiceAvailable, choiceToBody, formatLabel, formatsFound, groupFormats, groupOf, hasCodec, qualityPresets } from '../src/formats'
import type { FormatInfo } from '../src/types'
import { SAMPLE_FORMATS as SAMPLE } from './helpers'

describe('format grouping', () => {
  it('treats "none", null and empty as an absent stream', () => {
    expect(hasCodec('none')).toBe(false)
    expect(hasCodec(null)).toBe(false)
    expect(hasCodec('')).toBe(false)
    expect(hasCodec('vp9')).toBe(true)
  })

  it('sorts formats into video + audio, video only and audio only', () => {
    expect(SAMPLE.map(groupOf)).toEqual(['av', 'av', 'video', 'audio', 'audio'])
    const groups = groupFormats(SAMPLE, 'video')
    expect(groups.map((g) => g.label)).toEqual(['Video + audio', 'Video only', 'Audio only'])
    // Best first within a group.
    expect(groups[0].formats.map((f) => f.format_id)).toEqual(['22', '18'])
    expect(groups[2].formats.map((f) => f.format_id)).toEqual(['251', '140'])
  })

  it('offers only formats with sound for audio downloads', () => {
    const groups = groupFormats(SAMPLE, 'audio')
    expect(groups.map((g) => g.key)).toEqual(['audio', 'av'])
  })

  it('labels formats for a person', () => {
    expect(formatLabel(SAMPLE[1])).toBe('720p · mp4 · avc1+mp4a · 30 fps · 41.2 MB')
    expect(formatLabel(SAMPLE[3])).toBe('m4a · mp4a · 130 kb/s')
  })

  it('turns the picker value into the request fields', () => {
    expect(choiceToBody('best')).toEqual({})
    expect(choiceToBody('q:720')).toEqual({ quality: '720' })
    expect(choiceToBody('f:137+140')).toEqual({ format_id: '137+140' })
  })

  it('falls back when a remembered format is not offered by this link', () => {
    expect(choiceAvailable('f:22', 'video', SAMPLE)).toBe(true)
    expect(choiceAvailable('f:999', 'video', SAMPLE)).toBe(false)
    expect(choiceAvailable('f:137', 'audio', SAMPLE)).toBe(false)
    expect(choiceAvailable('q:1080', 'video', [])).toBe(true)
    expect(choiceAvailable('q:1080', 'audio', [])).toBe(false)
  })
})

describe('a truthful picker', () => {
  const single = (over: Partial<FormatInfo>): FormatInfo => ({
    format_id: 'mp4',
    ext: 'mp4',
    resolution: null,
    height: null,
    fps: null,
    vcodec: null,
    acodec: null,
    filesize: null,
    tbr: null,
    note: null,
    ...over,
  })

  it('offers only heights the link has, below its best', () => {
    expect(qualityPresets('video', SAMPLE, true).map((p) => p.label)).toEqual(['Up to 720p', 'Up to 360p'])
    // One low-resolution file: nothing to limit, "Best available" is all there is.
    expect(qualityPresets('video', [single({ height: 240, vcodec: 'avc1' })], true)).toEqual([])
    expect(qualityPresets('video', [single({})], true)).toEqual([])
    // A playlist, or formats not in yet: the usual steps.
    expect(qualityPresets('video', [], false).map((p) => p.value)).toEqual(['2160', '1080', '720', '480'])
    expect(choiceAvailable('q:2160', 'video', [single({ height: 240, vcodec: 'avc1' })], true)).toBe(false)
  })

  it('offers audio bitrates only below the best one stated', () => {
    expect(qualityPresets('audio', [single({ acodec: 'mp4a', tbr: 200 })], true).map((p) => p.value)).toEqual(['192', '128'])
    expect(qualityPresets('audio', [single({})], true)).toEqual([])
  })

  it('never labels a format with a bare id, and counts in words', () => {
    expect(formatLabel(single({}))).toBe('mp4 file · quality not stated')
    expect(formatLabel(single({ ext: null }))).toBe('Format mp4 · quality not stated')
    expect(groupFormats([single({})], 'audio')).toEqual([])
    expect(formatsFound(1)).toBe('1 format found.')
    expect(formatsFound(3)).toBe('3 formats found.')
  })
})
