// Subscriptions as the API shows them (issue 12): a channel, playlist or feed checked on a
// schedule, what a check did, and what a first check would take.

import type { components } from './generated/openapi'
import type { JobError, MediaType } from './types'

type Schemas = components['schemas']

export type FirstCheck = 'new_only' | 'latest'
export type Outcome = 'queued' | 'skipped' | 'deferred'

export interface Filters {
  title_include?: string | null
  title_exclude?: string | null
  min_duration?: number | null
  max_duration?: number | null
  published_after?: string | null
}

/** What a person chooses: the body of POST /api/subscriptions (and of PATCH, in part). */
export interface SubscriptionSettings {
  url: string
  interval_minutes?: number | null
  cron?: string | null
  filters?: Filters
  max_items_per_check?: number | null
  first_check?: FirstCheck
  first_count?: number
  media_type?: MediaType
  output_format?: string | null
  quality?: string | null
}

export interface Subscription extends SubscriptionSettings {
  id: string
  title: string | null
  schedule: string
  paused: boolean
  created_at: string
  last_check_at: string | null
  next_check_at: string | null
  last_error: JobError | null
  failures: number
  checks: number
}

// The check's values are attrs models on the server: their types come from the generated
// OpenAPI document. A subscription's own shape is flat (its download fields beside its own),
// so it is written out above.
export type CheckItem = Schemas['CheckItem']
export type CheckResult = Schemas['CheckResult']
export type CheckRecord = Schemas['CheckRecord']
export type Preview = Schemas['Preview']
