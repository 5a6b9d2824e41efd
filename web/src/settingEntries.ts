// Settings whose values are maps or lists, edited as rows of text fields instead of JSON. Each
// shape says its columns and how the form's draft (the JSON text the settings form keeps, so
// saving, refusals and "unsaved" work as for every other field) turns into rows and back.
// `read` gives null when a draft does not fit the shape: the field then shows the JSON itself.

export interface EntryColumn {
  /** The column's short name, in test ids (`key`, `value`, …). */
  name: string
  /** The column's name for people, for labels ("Domain 1") and the add button. */
  label: string
  /** Values to offer (a datalist); any text is still accepted and checked by the server. */
  choices?: readonly string[]
  /** Wider than the others. */
  wide?: boolean
}

export interface EntryShape {
  columns: readonly EntryColumn[]
  read(draft: string): string[][] | null
  write(rows: string[][]): string
}

function parse(draft: string): unknown {
  try {
    return JSON.parse(draft)
  } catch {
    return undefined
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value)
}

const pretty = (value: unknown): string => JSON.stringify(value, null, 2)

/** A value as one field shows it: text as itself, anything else as JSON. */
export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** A field's text as a value: JSON when it reads as JSON (5, true, ["a"], {"k": "v"}), else text. */
export function textValue(text: string): unknown {
  const value = parse(text.trim())
  return value === undefined ? text : value
}

/** A map of texts, one row per key (output templates by domain). */
export function textMap(keyLabel: string, valueLabel: string): EntryShape {
  return {
    columns: [
      { name: 'key', label: keyLabel },
      { name: 'value', label: valueLabel, wide: true },
    ],
    read(draft) {
      const value = parse(draft)
      if (!isMap(value) || !Object.values(value).every((v) => typeof v === 'string')) return null
      return Object.entries(value as Record<string, string>).map(([k, v]) => [k, v])
    },
    write: (rows) => pretty(Object.fromEntries(rows.map(([k, v]) => [k, v]))),
  }
}

/** A list of texts, one row each (networks). */
export function textList(label: string): EntryShape {
  return {
    columns: [{ name: 'value', label, wide: true }],
    read(draft) {
      const value = parse(draft)
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return null
      return value.map((v: string) => [v])
    },
    write: (rows) => pretty(rows.map(([v]) => v)),
  }
}

/** Named options whose values may be of any JSON type (yt-dlp's allow-listed options): the
 *  name offered from ``names``, the value typed as text or JSON. */
export function namedOptions(names: readonly string[]): EntryShape {
  return {
    columns: [
      { name: 'key', label: 'Option', choices: names },
      { name: 'value', label: 'Value', wide: true },
    ],
    read(draft) {
      const value = parse(draft)
      if (!isMap(value)) return null
      return Object.entries(value).map(([k, v]) => [k, valueText(v)])
    },
    write: (rows) => pretty(Object.fromEntries(rows.map(([k, v]) => [k, textValue(v)]))),
  }
}

/** yt-dlp's extractor arguments, extractor -> argument -> values: one row per argument, its
 *  values separated by commas. */
export const extractorArgs: EntryShape = {
  columns: [
    { name: 'key', label: 'Extractor' },
    { name: 'argument', label: 'Argument' },
    { name: 'value', label: 'Values', wide: true },
  ],
  read(draft) {
    const value = parse(draft)
    if (!isMap(value)) return null
    const rows: string[][] = []
    for (const [extractor, args] of Object.entries(value)) {
      if (!isMap(args)) return null
      const entries = Object.entries(args)
      if (!entries.length) rows.push([extractor, '', ''])
      for (const [name, values] of entries) {
        if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) return null
        rows.push([extractor, name, values.join(', ')])
      }
    }
    return rows
  },
  write(rows) {
    const result: Record<string, Record<string, string[]>> = {}
    for (const [extractor, name, values] of rows) {
      const args = (result[extractor] ??= {})
      if (name || values)
        args[name] = values
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean)
    }
    return pretty(result)
  },
}
