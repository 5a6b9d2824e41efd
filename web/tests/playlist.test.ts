import { describe, expect, it } from 'vitest'
import { compressRanges, playlistItemsFor } from '../src/playlist'

describe('compressRanges', () => {
  it.each([
    [[], ''],
    [[1], '1'],
    [[1, 2], '1-2'],
    [[1, 2, 3, 5], '1-3,5'],
    [[5, 3, 1, 2], '1-3,5'],
    [[1, 1, 2, 2, 3], '1-3'],
    [[2, 4, 6], '2,4,6'],
    [[1, 2, 3, 7, 8, 10, 12, 13, 14], '1-3,7-8,10,12-14'],
    [[0, -1, 2.5, 3], '3'],
  ])('%j → %s', (input, out) => {
    expect(compressRanges(input)).toBe(out)
  })

  it('matches what the server accepts', () => {
    const text = compressRanges([1, 2, 3, 5, 8, 9])
    expect(text).toMatch(/^\d{1,5}(-\d{1,5})?(,\d{1,5}(-\d{1,5})?)*$/)
  })
})

describe('playlistItemsFor', () => {
  const all = [1, 2, 3, 4, 5]

  it('sends nothing when every item is selected', () => {
    expect(playlistItemsFor(new Set(all), all)).toBeUndefined()
  })

  it('sends the ranges of a partial selection', () => {
    expect(playlistItemsFor(new Set([1, 2, 4]), all)).toBe('1-2,4')
    expect(playlistItemsFor(new Set([2, 3]), all)).toBe('2-3')
  })
})
