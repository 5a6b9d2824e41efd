import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration, formatEta, formatPercent, formatSpeed } from '../src/format'

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.00 kB'],
    [1234, '1.23 kB'],
    [45_600_000, '45.6 MB'],
    [123_456_789, '123 MB'],
    [999_999, '1.00 MB'],
    [1.5e9, '1.50 GB'],
    [2.5e12, '2.50 TB'],
  ])('%d bytes read as %s', (n, text) => {
    expect(formatBytes(n)).toBe(text)
  })

  it('prints nothing for missing or nonsense sizes', () => {
    expect(formatBytes(null)).toBe('')
    expect(formatBytes(undefined)).toBe('')
    expect(formatBytes(Number.NaN)).toBe('')
    expect(formatBytes(-1)).toBe('')
  })
})

describe('formatSpeed', () => {
  it('is a size per second', () => {
    expect(formatSpeed(2_350_000)).toBe('2.35 MB/s')
    expect(formatSpeed(512)).toBe('512 B/s')
    expect(formatSpeed(null)).toBe('')
  })
})

describe('formatEta', () => {
  it.each([
    [0, '0 s'],
    [45, '45 s'],
    [59.6, '1 min 00 s'],
    [185, '3 min 05 s'],
    [3720, '1 h 02 min'],
    [90_000, '1 d 1 h'],
  ])('%d seconds left read as %s', (s, text) => {
    expect(formatEta(s)).toBe(text)
  })

  it('prints nothing when unknown', () => {
    expect(formatEta(null)).toBe('')
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe('')
  })
})

describe('formatDuration', () => {
  it.each([
    [7, '0:07'],
    [185, '3:05'],
    [3723, '1:02:03'],
    [59.5, '1:00'],
  ])('%d seconds long reads as %s', (s, text) => {
    expect(formatDuration(s)).toBe(text)
  })

  it('prints nothing when unknown', () => {
    expect(formatDuration(null)).toBe('')
  })
})

describe('formatPercent', () => {
  it('keeps a decimal below 10 % and clamps', () => {
    expect(formatPercent(0)).toBe('0%')
    expect(formatPercent(0.46)).toBe('0.5%')
    expect(formatPercent(42.9)).toBe('42%')
    expect(formatPercent(100)).toBe('100%')
    expect(formatPercent(120)).toBe('100%')
    expect(formatPercent(null)).toBe('0%')
  })
})
