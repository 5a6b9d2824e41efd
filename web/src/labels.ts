import type { JobStatus } from './types'

/** How a status reads on screen (badges, announcements). */
export const STATUS_LABELS: Record<JobStatus, string> = {
  queued: 'Queued',
  extracting: 'Preparing',
  downloading: 'Downloading',
  postprocessing: 'Converting',
  completed: 'Finished',
  failed: 'Failed',
  cancelled: 'Cancelled',
  paused: 'Paused',
}
