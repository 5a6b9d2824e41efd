// Human formatting of sizes, rates and times. Sizes use decimal (SI) units — 1 MB is
// 1,000,000 bytes — as file managers on phones and macOS do. Missing values give an empty
// string so a template can print them unconditionally.

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']

function finite(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n)
}

/** 0 → "0 B", 1234 → "1.2 kB", 45_600_000 → "45.6 MB", 1.5e9 → "1.50 GB". */
export function formatBytes(n: number | null | undefined): string {
  if (!finite(n) || n < 0) return ''
  let i = 0
  let v = n
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000
    i++
  }
  if (i === 0) return `${Math.round(v)} B`
  // Keep three significant figures: 1.23 MB, 12.3 MB, 123 MB.
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2
  let text = v.toFixed(digits)
  if (text === '1000' && i < UNITS.length - 1) {
    text = '1.00'
    i++
  }
  return `${text} ${UNITS[i]}`
}

/** Bytes per second → "2.35 MB/s". */
export function formatSpeed(bytesPerSecond: number | null | undefined): string {
  if (!finite(bytesPerSecond) || bytesPerSecond < 0) return ''
  return `${formatBytes(bytesPerSecond)}/s`
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n)
}

/** Seconds left → "45 s", "3 min 05 s", "1 h 02 min"; days for very slow downloads. */
export function formatEta(seconds: number | null | undefined): string {
  if (!finite(seconds) || seconds < 0) return ''
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad2(s % 60)} s`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad2(Math.floor((s % 3600) / 60))} min`
  const d = Math.floor(s / 86400)
  return `${d} d ${Math.floor((s % 86400) / 3600)} h`
}

/** A media duration → "0:07", "3:05", "1:02:03". */
export function formatDuration(seconds: number | null | undefined): string {
  if (!finite(seconds) || seconds < 0) return ''
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  return h > 0 ? `${h}:${pad2(m)}:${pad2(sec)}` : `${m}:${pad2(sec)}`
}

/** Progress 0–100 → "42%"; one decimal below 10 % so a slow start still visibly moves. */
export function formatPercent(progress: number | null | undefined): string {
  if (!finite(progress)) return '0%'
  const p = Math.min(100, Math.max(0, progress))
  return p > 0 && p < 10 ? `${p.toFixed(1)}%` : `${Math.floor(p)}%`
}
