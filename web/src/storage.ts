// localStorage that never throws: private browsing, a full quota or a disabled store only lose
// the remembered choice, never break the page.

const PREFIX = 'mediarip.'

export function loadJSON<T>(key: string, fallback: T, valid: (v: unknown) => v is T): T {
  try {
    const raw = globalThis.localStorage?.getItem(PREFIX + key)
    if (raw == null) return fallback
    const value: unknown = JSON.parse(raw)
    return valid(value) ? value : fallback
  } catch {
    return fallback
  }
}

export function saveJSON(key: string, value: unknown, opts: { quiet?: boolean } = {}): void {
  try {
    globalThis.localStorage?.setItem(PREFIX + key, JSON.stringify(value))
  } catch {
    // Remembering is a convenience; ignore a store that refuses.
  }
  if (!opts.quiet) saveListener?.(key, value)
}

/** Someone who wants to hear of every remembered choice (a logged-in user's preferences are
 * kept on the server too, issue 14); `quiet` saves are not told. */
type SaveListener = (key: string, value: unknown) => void
let saveListener: SaveListener | null = null

export function onSave(listener: SaveListener | null): void {
  saveListener = listener
}

/** The remembered value of `key`, parsed, or undefined. */
export function readJSON(key: string): unknown {
  try {
    const raw = globalThis.localStorage?.getItem(PREFIX + key)
    return raw == null ? undefined : JSON.parse(raw)
  } catch {
    return undefined
  }
}

export function hasKey(key: string): boolean {
  try {
    return globalThis.localStorage?.getItem(PREFIX + key) != null
  } catch {
    return false
  }
}
