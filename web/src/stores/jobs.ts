// The queue as the browser knows it.
//
// The problem: a thousand jobs, twenty of them downloading, each sending a few progress events
// a second. If each event replaced the job list (or the job object), every row — and every list
// derived from the jobs — would be rebuilt a hundred times a second, and the page would stutter.
//
// What we do instead:
// - Each job is one reactive object, kept for its whole life in a `Map` keyed by id. A
//   `job_update` looks the job up (O(1)) and assigns only the fields it carries, in place. A row
//   component holds that object as its prop and reads its fields while rendering, so Vue
//   re-renders exactly the one row whose fields changed; nothing else is touched.
// - The order of the queue (newest first) is an array of ids that changes only when a job is
//   added or removed, never on progress.
// - The lists shown (top-level rows per filter tab, a playlist's children, the tab counts) are
//   computed from that order and read only `status` and `parent_id`, so they are recomputed
//   lazily — once, at the next render — only after a job appears, disappears or changes status,
//   and never because of progress, speed or ETA.
// - `init` (a fresh connection) patches the existing objects in place too, so a reconnect does
//   not remount a thousand rows nor lose a collapsed group.

import { defineStore } from 'pinia'
import { computed, reactive, shallowReactive, shallowRef, triggerRef } from 'vue'
import * as api from '../api'
import { triggerFileDownload } from '../download'
import {
  ACTIVE_STATUSES,
  type BatchResult,
  type Job,
  type JobPatch,
  type JobStatus,
  type NewDownload,
} from '../types'
import { useNoticesStore } from './notices'

export type Filter = 'all' | 'active' | 'completed' | 'failed' | 'cancelled'
export const FILTERS: readonly Filter[] = ['all', 'active', 'completed', 'failed', 'cancelled']

/** Which tab a status belongs to. Failed and cancelled are apart: a failure needs a look, a
 * cancel was somebody's choice. */
export function matchesFilter(status: JobStatus, filter: Filter): boolean {
  switch (filter) {
    case 'all':
      return true
    case 'active':
      return ACTIVE_STATUSES.has(status)
    case 'completed':
      return status === 'completed'
    case 'failed':
      return status === 'failed'
    case 'cancelled':
      return status === 'cancelled'
  }
}

/** The host a job's URL names ("www." dropped), or '' when it has none. */
export function jobHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^www\./, '')
  } catch {
    return ''
  }
}

export type StatusListener = (job: Job, previous: JobStatus) => void

/** What a job first seen through a patch shows until a whole copy arrives ('' = not known yet). */
const JOB_DEFAULTS: Omit<Job, 'id'> = {
  kind: 'single',
  via_api: false,
  parent_id: null,
  subscription_id: null,
  url: '',
  title: null,
  thumbnail: null,
  status: 'queued',
  media_type: 'video',
  format_id: null,
  quality: null,
  output_format: null,
  progress: 0,
  downloaded_bytes: null,
  total_bytes: null,
  speed: null,
  eta: null,
  filename: null,
  filesize: null,
  error: null,
  created_at: '',
  started_at: null,
  finished_at: null,
  options: {
    subtitles: null,
    embed_thumbnail: false,
    embed_metadata: false,
    sponsorblock: null,
    split_chapters: false,
    clip: null,
    folder: null,
    filename: null,
  },
  files: [],
}

/** Ids of jobs deleted here: a late update for one must not bring it back. Bounded. */
const TOMBSTONE_LIMIT = 2000

/** What the row shows as a job's name. */
export function jobLabel(job: Pick<Job, 'title' | 'url' | 'id'>): string {
  return job.title || job.url || `Job ${job.id.slice(0, 8)}`
}

export const useJobsStore = defineStore('jobs', () => {
  // Map structure is reactive (add/delete); each value is its own deep-reactive job object.
  const byId = shallowReactive(new Map<string, Job>())
  // Newest first. Mutated in place, then triggered: only on add/remove/init.
  const order = shallowRef<string[]>([])
  // Sort keys, fixed at insertion, not reactive: creation time (ms) and arrival sequence.
  const sortKey = new Map<string, { t: number; seq: number }>()
  let seq = 0
  const tombstones = new Set<string>()
  const listeners = new Set<StatusListener>()
  /** Playlist groups the person folded away. */
  const collapsed = reactive(new Set<string>())
  /** Ids with a request in flight (buttons show it and do not double-send). */
  const busy = reactive(new Set<string>())

  // ---- ordering --------------------------------------------------------------------------

  function keyFor(job: Job): { t: number; seq: number } {
    const parsed = job.created_at ? Date.parse(job.created_at) : NaN
    return { t: Number.isNaN(parsed) ? Date.now() : parsed, seq: ++seq }
  }

  /** a before b when a is newer (later creation, or same time and arrived later). */
  function newerFirst(a: string, b: string): number {
    const ka = sortKey.get(a)!
    const kb = sortKey.get(b)!
    return kb.t - ka.t || kb.seq - ka.seq
  }

  function insertOrdered(id: string): void {
    const list = order.value
    // Binary search; a new job is almost always the newest, so this ends at index 0.
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (newerFirst(list[mid], id) < 0) lo = mid + 1
      else hi = mid
    }
    list.splice(lo, 0, id)
  }

  // ---- mutations (what the event stream drives) -------------------------------------------

  function applyFields(target: Job, patch: JobPatch): void {
    const t = target as unknown as Record<string, unknown>
    for (const key in patch) {
      if (key === 'id') continue
      const value = (patch as Record<string, unknown>)[key]
      // Vue skips unchanged primitives itself; skip here too to avoid needless proxy work.
      if (t[key] !== value) t[key] = value
    }
  }

  function insert(patch: JobPatch): Job {
    const job = reactive({ ...JOB_DEFAULTS, ...patch }) as Job
    sortKey.set(job.id, keyFor(job))
    byId.set(job.id, job)
    insertOrdered(job.id)
    triggerRef(order)
    return job
  }

  function notify(job: Job, previous: JobStatus): void {
    for (const fn of listeners) {
      try {
        fn(job, previous)
      } catch (err) {
        console.error(err)
      }
    }
  }

  /** Merge a `job_update` into the job it names, creating the job if it is new. O(fields). */
  function upsert(patch: JobPatch): void {
    if (!patch || typeof patch.id !== 'string') return
    const existing = byId.get(patch.id)
    if (existing) {
      const previous = existing.status
      applyFields(existing, patch)
      if (existing.status !== previous) notify(existing, previous)
      return
    }
    if (tombstones.has(patch.id)) return
    insert(patch)
  }

  /** Add a job we were told about by an API answer, unless the stream already brought it. */
  function insertIfAbsent(job: Job): void {
    if (!byId.has(job.id) && !tombstones.has(job.id)) insert(job)
  }

  function remove(id: string): void {
    tombstones.add(id)
    if (tombstones.size > TOMBSTONE_LIMIT) {
      const oldest = tombstones.values().next().value
      if (oldest !== undefined) tombstones.delete(oldest)
    }
    if (!byId.has(id)) return
    byId.delete(id)
    sortKey.delete(id)
    collapsed.delete(id)
    const list = order.value
    const i = list.indexOf(id)
    if (i >= 0) list.splice(i, 1)
    triggerRef(order)
  }

  /** The `init` event: the server's full truth replaces ours. Existing objects are patched. */
  function replaceAll(jobs: readonly Job[]): void {
    const incoming = new Set<string>()
    // The server sends newest first; give older ones smaller sequence numbers so ties keep its order.
    for (let i = jobs.length - 1; i >= 0; i--) {
      const data = jobs[i]
      if (!data || typeof data.id !== 'string') continue
      incoming.add(data.id)
      tombstones.delete(data.id)
      const existing = byId.get(data.id)
      if (existing) {
        applyFields(existing, { ...JOB_DEFAULTS, ...data })
      } else {
        const job = reactive({ ...JOB_DEFAULTS, ...data }) as Job
        sortKey.set(job.id, keyFor(job))
        byId.set(job.id, job)
      }
    }
    for (const id of [...byId.keys()]) {
      if (!incoming.has(id)) {
        byId.delete(id)
        sortKey.delete(id)
        collapsed.delete(id)
      }
    }
    order.value = [...byId.keys()].sort(newerFirst)
  }

  function onStatusChange(fn: StatusListener): () => void {
    listeners.add(fn)
    return () => listeners.delete(fn)
  }

  // ---- derived lists ----------------------------------------------------------------------

  const size = computed(() => byId.size)

  /** Jobs shown at the top level: everything without a (known) parent, newest first. */
  const topLevel = computed<Job[]>(() => {
    const out: Job[] = []
    for (const id of order.value) {
      const job = byId.get(id)
      if (job && (job.parent_id === null || !byId.has(job.parent_id))) out.push(job)
    }
    return out
  })

  /** A playlist's children in the order they were created (the playlist's order). */
  const childrenOf = computed<Map<string, Job[]>>(() => {
    const groups = new Map<string, Job[]>()
    const list = order.value
    for (let i = list.length - 1; i >= 0; i--) {
      const job = byId.get(list[i])
      if (!job || job.parent_id === null || !byId.has(job.parent_id)) continue
      const group = groups.get(job.parent_id)
      if (group) group.push(job)
      else groups.set(job.parent_id, [job])
    }
    return groups
  })

  const EMPTY: readonly Job[] = Object.freeze([])

  function children(id: string): readonly Job[] {
    return childrenOf.value.get(id) ?? EMPTY
  }

  function isGroup(job: Job): boolean {
    return job.kind === 'playlist' || childrenOf.value.has(job.id)
  }

  /**
   * One pass over the queue: per tab, the top-level rows to show and the count on the tab.
   * Counts are of downloads (a playlist counts its items, not itself, once it has them); a
   * group is listed under a tab when it or one of its items belongs there.
   */
  const views = computed(() => {
    const lists: Record<Filter, Job[]> = { all: [], active: [], completed: [], failed: [], cancelled: [] }
    const counts: Record<Filter, number> = { all: 0, active: 0, completed: 0, failed: 0, cancelled: 0 }
    const groups = childrenOf.value
    for (const job of topLevel.value) {
      const kids = groups.get(job.id)
      for (const f of FILTERS) {
        if (!kids) {
          if (matchesFilter(job.status, f)) {
            counts[f]++
            lists[f].push(job)
          }
          continue
        }
        let n = 0
        for (const kid of kids) if (matchesFilter(kid.status, f)) n++
        counts[f] += n
        if (n > 0 || matchesFilter(job.status, f)) lists[f].push(job)
      }
    }
    return { lists, counts }
  })

  const counts = computed(() => views.value.counts)

  function list(filter: Filter): Job[] {
    return views.value.lists[filter]
  }

  /** Finished downloads that have a file to save (not playlist parents). */
  const completedFiles = computed<Job[]>(() => {
    const out: Job[] = []
    for (const id of order.value) {
      const job = byId.get(id)
      if (job && job.status === 'completed' && !isGroup(job)) out.push(job)
    }
    return out
  })

  /**
   * Whether the event stream is open, as the events store (which feeds this one) says: the
   * arrow goes from the stream to the jobs, never back.
   */
  const streamOpen = shallowRef(false)

  function setStreamOpen(open: boolean): void {
    streamOpen.value = open
  }

  function get(id: string): Job | undefined {
    return byId.get(id)
  }

  function toggleCollapsed(id: string): void {
    if (collapsed.has(id)) collapsed.delete(id)
    else collapsed.add(id)
  }

  // ---- actions (what the buttons do) ------------------------------------------------------

  /**
   * Apply a job the API answered with — only while the event stream is down. While it is up,
   * the stream is the single source of truth: an answer can be older than an event that
   * overtook it, and applying it would move the job backwards.
   */
  function applyAnswer(job: Job | undefined): void {
    if (!job || typeof job.id !== 'string') return
    if (!streamOpen.value) upsert(job)
  }

  async function withBusy<T>(id: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (busy.has(id)) return undefined
    busy.add(id)
    try {
      return await fn()
    } catch (err) {
      if (err instanceof api.ApiError) useNoticesStore().error(err.message)
      else throw err
      return undefined
    } finally {
      busy.delete(id)
    }
  }

  /** POST /api/downloads. Throws ApiError so the form can show it next to the URL. */
  async function create(body: NewDownload): Promise<Job> {
    const job = await api.createDownload(body)
    if (job && typeof job.id === 'string') insertIfAbsent(job)
    return job
  }

  /** POST /api/downloads/batch; the new jobs arrive here too (and over the event stream). */
  async function createMany(
    body: Omit<NewDownload, 'url'> & { urls: string[] },
  ): Promise<BatchResult> {
    const result = await api.createBatch(body)
    for (const job of result.jobs) insertIfAbsent(job)
    return result
  }

  async function pause(id: string): Promise<void> {
    applyAnswer(await withBusy(id, () => api.pauseDownload(id)))
  }

  async function start(id: string): Promise<void> {
    applyAnswer(await withBusy(id, () => api.startDownload(id)))
  }

  async function cancel(id: string): Promise<void> {
    applyAnswer(await withBusy(id, () => api.cancelDownload(id)))
  }

  async function retry(id: string): Promise<void> {
    applyAnswer(await withBusy(id, () => api.retryDownload(id)))
  }

  /** Delete a job; with `keepFile` only forget it (its files stay on the server). */
  async function deleteJob(id: string, keepFile = false): Promise<boolean> {
    if (busy.has(id)) return false
    busy.add(id)
    try {
      await api.deleteDownload(id, keepFile)
      remove(id)
      return true
    } catch (err) {
      if (err instanceof api.ApiError && err.status === 404) {
        remove(id)
        return true
      }
      if (err instanceof api.ApiError) useNoticesStore().error(err.message)
      else throw err
      return false
    } finally {
      busy.delete(id)
    }
  }

  /** "Save all finished": start each finished file's download, one after another. */
  async function saveAll(gapMs = 400, trigger = triggerFileDownload): Promise<number> {
    const files = completedFiles.value.slice()
    for (let i = 0; i < files.length; i++) {
      trigger(api.fileUrl(files[i].id))
      if (i < files.length - 1) await new Promise((r) => setTimeout(r, gapMs))
    }
    return files.length
  }

  /** Undo a delete that kept the file: the job comes back (the event stream brings it too). */
  async function restore(id: string): Promise<boolean> {
    try {
      const job = await api.restoreDownload(id)
      tombstones.delete(id)
      if (job && typeof job.id === 'string') upsert(job)
      return true
    } catch (err) {
      if (err instanceof api.ApiError) useNoticesStore().error(err.message)
      else throw err
      return false
    }
  }

  /**
   * "Clear finished" / "Clear failed" / "Clear cancelled": one request for all of them; the
   * rows go as the event stream says (and here at once, so the list never lags the answer).
   */
  async function clearStatuses(statuses: JobStatus[], keepFiles: boolean): Promise<number> {
    const wanted = new Set(statuses)
    try {
      const removed = await api.clearDownloads(statuses, keepFiles)
      for (const id of [...order.value]) {
        const job = byId.get(id)
        if (!job || !wanted.has(job.status)) continue
        const kids = childrenOf.value.get(id)
        if (!kids || kids.every((k) => wanted.has(k.status))) remove(id)
      }
      return removed
    } catch (err) {
      if (err instanceof api.ApiError) useNoticesStore().error(err.message)
      else throw err
      return 0
    }
  }

  /** "Clear finished", keeping the files unless asked. */
  function clearFinished(keepFiles = true): Promise<number> {
    return clearStatuses(['completed'], keepFiles)
  }

  /** "Retry failed": every failed (or cancelled) job back to the queue, in one request. */
  async function retryAll(statuses: JobStatus[] = ['failed']): Promise<number> {
    try {
      return await api.retryDownloads(statuses)
    } catch (err) {
      if (err instanceof api.ApiError) useNoticesStore().error(err.message)
      else throw err
      return 0
    }
  }

  return {
    // state (read-only by convention)
    byId,
    order,
    collapsed,
    busy,
    // derived
    size,
    topLevel,
    childrenOf,
    counts,
    completedFiles,
    // queries
    get,
    list,
    children,
    isGroup,
    // stream mutations
    setStreamOpen,
    upsert,
    insertIfAbsent,
    remove,
    replaceAll,
    onStatusChange,
    toggleCollapsed,
    // actions
    create,
    createMany,
    pause,
    start,
    cancel,
    retry,
    deleteJob,
    saveAll,
    clearFinished,
    clearStatuses,
    retryAll,
    restore,
  }
})
