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

export function saveJSON(key: string, value: unknown): void {
  try {
    globalThis.localStorage?.setItem(PREFIX + key, JSON.stringify(value))
  } catch {
    // Remembering is a convenience; ignore a store that refuses.
  }
}

export function hasKey(key: string): boolean {
  try {
    return globalThis.localStorage?.getItem(PREFIX + key) != null
  } catch {
    return false
  }
}
