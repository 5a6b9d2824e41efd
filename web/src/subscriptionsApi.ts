// The typed client for /api/subscriptions and /api/archive.

import { request } from './api'
import type {
  CheckRecord,
  CheckResult,
  Preview,
  Subscription,
  SubscriptionSettings,
} from './subscriptionTypes'

const BASE = '/api/subscriptions'

function at(id: string, rest = ''): string {
  return `${BASE}/${encodeURIComponent(id)}${rest}`
}

export async function listSubscriptions(): Promise<Subscription[]> {
  return (await request<{ subscriptions: Subscription[] }>(BASE)).subscriptions
}

export function createSubscription(body: SubscriptionSettings): Promise<Subscription> {
  return request<Subscription>(BASE, { method: 'POST', json: body })
}

export function previewSubscription(
  body: SubscriptionSettings,
  signal?: AbortSignal,
): Promise<Preview> {
  return request<Preview>(`${BASE}/preview`, { method: 'POST', json: body, signal })
}

export function changeSubscription(
  id: string,
  body: Partial<SubscriptionSettings>,
): Promise<Subscription> {
  return request<Subscription>(at(id), { method: 'PATCH', json: body })
}

export function setPaused(id: string, paused: boolean): Promise<Subscription> {
  return request<Subscription>(at(id, paused ? '/pause' : '/resume'), { method: 'POST' })
}

export function checkNow(id: string): Promise<CheckResult> {
  return request<CheckResult>(at(id, '/check'), { method: 'POST' })
}

export async function deleteSubscription(id: string, removeDownloads: boolean): Promise<number> {
  const query = removeDownloads ? '?remove_downloads=true' : ''
  const answer = await request<{ removed_jobs: number }>(at(id, query), { method: 'DELETE' })
  return answer.removed_jobs
}

export async function history(id: string): Promise<CheckRecord[]> {
  return (await request<{ checks: CheckRecord[] }>(at(id, '/history'))).checks
}

export function importArchive(text: string): Promise<{ read: number; added: number }> {
  return request(`/api/archive/import`, { method: 'POST', body: text })
}
