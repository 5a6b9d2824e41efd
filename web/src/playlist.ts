// Playlist item selection → the `playlist_items` string the API takes ("1-3,5").

/**
 * Compress 1-based item numbers into ranges: [5, 1, 2, 3, 3] → "1-3,5".
 * Duplicates and order do not matter; non-positive or non-integer numbers are ignored.
 */
export function compressRanges(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)]
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b)
  const parts: string[] = []
  let i = 0
  while (i < sorted.length) {
    const start = sorted[i]
    let end = start
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) {
      end = sorted[++i]
    }
    parts.push(start === end ? String(start) : `${start}-${end}`)
    i++
  }
  return parts.join(',')
}

/**
 * What to send for a selection out of `all` entries: undefined when everything is selected
 * (the server then takes the whole playlist), else the compressed ranges.
 */
export function playlistItemsFor(selected: ReadonlySet<number>, all: readonly number[]): string | undefined {
  if (all.length > 0 && all.every((n) => selected.has(n))) return undefined
  return compressRanges(selected)
}
