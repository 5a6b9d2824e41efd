// Times for people: the server sends ISO 8601 with an offset; the panel shows them in the
// browser's locale and time zone.

const FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const at = new Date(iso)
  return Number.isNaN(at.getTime()) ? iso : FORMAT.format(at)
}
