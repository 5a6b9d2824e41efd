// A logged-in user's remembered choices follow them to every device (issue 14): colour mode,
// theme, video or audio, format and output format. They stay in localStorage as always; with
// a user, the server keeps a copy. At login the server's copy wins (written into localStorage
// and read again by the stores); an account without one takes this device's. Every later
// choice is sent on, a moment after the last of a burst.

import { getPreferences, putPreferences } from './accountsApi'
import { onSave, readJSON, saveJSON } from './storage'

export const SYNCED_KEYS = ['mode', 'theme', 'mediaType', 'formatChoice', 'outputFormat'] as const
const SEND_DELAY_MS = 300

function local(): Record<string, unknown> {
  const found: Record<string, unknown> = {}
  for (const key of SYNCED_KEYS) {
    const value = readJSON(key)
    if (value !== undefined) found[key] = value
  }
  return found
}

/** Fetch the user's preferences, apply them (`reload` re-reads the stores), and keep sending
 * changes. Failing to reach the server only leaves this device's choices as they are. */
export async function followUserPreferences(reload: () => void): Promise<void> {
  try {
    const server = await getPreferences()
    const keys = SYNCED_KEYS.filter((key) => server[key] !== undefined)
    if (keys.length) {
      for (const key of keys) saveJSON(key, server[key], { quiet: true })
      reload()
    } else {
      await putPreferences(local())
    }
  } catch {
    return
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  onSave((key) => {
    if (!(SYNCED_KEYS as readonly string[]).includes(key)) return
    clearTimeout(timer)
    timer = setTimeout(() => {
      putPreferences(local()).catch(() => undefined)
    }, SEND_DELAY_MS)
  })
}
