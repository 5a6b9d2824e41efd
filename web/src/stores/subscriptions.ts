// The person's subscriptions: loaded once, kept current by the event stream
// (`subscription_update`, `subscription_removed`, `subscription_checked`), changed through the
// API. Each subscription's last check result is kept for its card.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import * as api from '../subscriptionsApi'
import type { CheckResult, Subscription, SubscriptionSettings } from '../subscriptionTypes'

/** What a subscription's checks learnt, as opposed to what a person set. */
function checkState(sub: Subscription): Partial<Subscription> {
  const { title, last_check_at, next_check_at, last_error, failures, checks } = sub
  return { title, last_check_at, next_check_at, last_error, failures, checks }
}

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

  /** Counts the changes events and answers made, so that a list that was on its way while
   *  they came knows it is older than they are. */
  let changes = 0
  /** Ids removed while a list was on its way (it may still hold them). */
  const removedDuringLoad = new Set<string>()

  function upsert(sub: Subscription): void {
    changes++
    const next = new Map(byId.value)
    next.set(sub.id, sub)
    byId.value = next
  }

  /** Upserts the answer to our own request. The first check starts as the subscription is
   *  created and its event may arrive before the answer to the POST that created it (so may any
   *  check's, before a PATCH's answer): an answer never puts back an older check's state. */
  function fromAnswer(sub: Subscription): Subscription {
    const known = byId.value.get(sub.id)
    const fresher =
      known?.last_check_at != null &&
      (sub.last_check_at == null || Date.parse(known.last_check_at) > Date.parse(sub.last_check_at))
    const kept = fresher && known ? { ...sub, ...checkState(known) } : sub
    upsert(kept)
    return kept
  }

  function remove(id: string): void {
    changes++
    removedDuringLoad.add(id)
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

  /** The list from the API. If events or answers changed the store while it was on its way
   *  (a subscription made and checked meanwhile), it is merged as an older answer would be,
   *  never put over them: the first check of a new subscription once lost its error that way. */
  async function load(): Promise<void> {
    const before = changes
    removedDuringLoad.clear()
    const subs = await api.listSubscriptions()
    if (changes === before) {
      byId.value = new Map(subs.map((s) => [s.id, s]))
    } else {
      for (const sub of subs) if (!removedDuringLoad.has(sub.id)) fromAnswer(sub)
    }
    loaded.value = true
  }

  async function create(body: SubscriptionSettings): Promise<Subscription> {
    return fromAnswer(await api.createSubscription(body))
  }

  async function change(id: string, body: Partial<SubscriptionSettings>): Promise<Subscription> {
    return fromAnswer(await api.changeSubscription(id, body))
  }

  async function setPaused(id: string, paused: boolean): Promise<void> {
    fromAnswer(await api.setPaused(id, paused))
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
