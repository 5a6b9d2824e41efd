// The person's subscriptions: loaded once, kept current by the event stream
// (`subscription_update`, `subscription_removed`, `subscription_checked`), changed through the
// API. Each subscription's last check result is kept for its card.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as api from '../subscriptionsApi'
import type { CheckResult, Subscription, SubscriptionSettings } from '../subscriptionTypes'

export const useSubscriptionsStore = defineStore('subscriptions', () => {
  const byId = ref<Map<string, Subscription>>(new Map())
  const lastResult = ref<Map<string, CheckResult>>(new Map())
  /** Ids of subscriptions whose "check now" is running. */
  const checking = ref<Set<string>>(new Set())
  const loaded = ref(false)

  /** Newest first, as the API lists them. */
  const list = computed(() =>
    [...byId.value.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)),
  )

  function upsert(sub: Subscription): void {
    const next = new Map(byId.value)
    next.set(sub.id, sub)
    byId.value = next
  }

  function remove(id: string): void {
    if (!byId.value.has(id)) return
    const next = new Map(byId.value)
    next.delete(id)
    byId.value = next
  }

  function checked(id: string, result: CheckResult): void {
    const next = new Map(lastResult.value)
    next.set(id, result)
    lastResult.value = next
  }

  async function load(): Promise<void> {
    const subs = await api.listSubscriptions()
    byId.value = new Map(subs.map((s) => [s.id, s]))
    loaded.value = true
  }

  async function create(body: SubscriptionSettings): Promise<Subscription> {
    const sub = await api.createSubscription(body)
    upsert(sub)
    return sub
  }

  async function change(id: string, body: Partial<SubscriptionSettings>): Promise<Subscription> {
    const sub = await api.changeSubscription(id, body)
    upsert(sub)
    return sub
  }

  async function setPaused(id: string, paused: boolean): Promise<void> {
    upsert(await api.setPaused(id, paused))
  }

  async function checkNow(id: string): Promise<CheckResult> {
    checking.value = new Set([...checking.value, id])
    try {
      const result = await api.checkNow(id)
      checked(id, result)
      return result
    } finally {
      const next = new Set(checking.value)
      next.delete(id)
      checking.value = next
    }
  }

  async function destroy(id: string, removeDownloads: boolean): Promise<number> {
    const removed = await api.deleteSubscription(id, removeDownloads)
    remove(id)
    return removed
  }

  return {
    byId,
    list,
    lastResult,
    checking,
    loaded,
    upsert,
    remove,
    checked,
    load,
    create,
    change,
    setPaused,
    checkNow,
    destroy,
  }
})
