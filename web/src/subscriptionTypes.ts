// Subscriptions as the API shows them (issue 12): a channel, playlist or feed checked on a
// schedule, what a check did, and what a first check would take.

import type { components } from './generated/openapi'

type Schemas = components['schemas']

export type FirstCheck = 'new_only' | 'latest'
export type Outcome = 'queued' | 'skipped' | 'deferred'

// Everything here comes from the generated OpenAPI document; only the body's filters are
// loosened (a request may give any of them: the document shares the answer's Filters schema).
export type Filters = Schemas['Filters']

/** What a person chooses: the body of POST /api/subscriptions (and of PATCH, in part). */
export type SubscriptionSettings = Omit<Schemas['SubscriptionRequest'], 'filters'> & {
  filters?: Partial<Filters>
}

/** A subscription as the API shows it: its settings (null: left to its preset or the
 *  defaults), its state and its schedule in words. */
export type Subscription = Schemas['Subscription']

export type CheckItem = Schemas['CheckItem']
export type CheckResult = Schemas['CheckResult']
export type CheckRecord = Schemas['CheckRecord']
export type Preview = Schemas['Preview']
