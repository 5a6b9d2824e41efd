import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import AdminNotifications from '../src/components/admin/AdminNotifications.vue'
import AdminPresets from '../src/components/admin/AdminPresets.vue'
import { useConfirmStore } from '../src/stores/confirm'
import { apiError, routeFetch } from './helpers'

const HOOK = {
  id: 't1',
  name: 'Jellyfin',
  kind: 'webhook',
  url: 'http://jellyfin.lan/hook',
  secret: 'abc',
  events: ['completed'],
  enabled: true,
  created_at: '2026-01-01T00:00:00Z',
}
const TALKS = { id: 'p1', name: 'Talks', media_type: 'audio', output_format: 'm4a', quality: null, format_id: null, options: null }

beforeEach(() => {
  setActivePinia(createPinia())
})

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

/** Answer the confirmation the page is about to ask. */
async function confirmNext(ok: boolean): Promise<void> {
  await flushPromises()
  useConfirmStore().settle(ok)
  await flushPromises()
}

describe('the notification targets page', () => {
  it('edits a target in the form and saves it to the same target', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/admin/notifications': { targets: [HOOK], events: [] },
      'PATCH /api/admin/notifications/t1': { ...HOOK, name: 'Jellyfin 2' },
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(AdminNotifications, { attachTo: document.body })
    await flushPromises()
    expect(wrapper.findAll('[data-testid="admin-notification-target"]')).toHaveLength(1)
    expect(wrapper.find('[data-testid="admin-notifications-none"]').exists()).toBe(false)

    await wrapper.get('[data-testid="admin-notification-edit"]').trigger('click')
    const name = wrapper.get<HTMLInputElement>('[data-testid="admin-notification-name"]')
    expect(name.element.value).toBe('Jellyfin')
    expect(wrapper.text()).toContain('Edit the target')
    await name.setValue('Jellyfin 2')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    const patch = calls.find(([method]) => method === 'PATCH')
    expect(patch?.[1]).toBe('/api/admin/notifications/t1')
    expect(patch?.[2]).toMatchObject({ name: 'Jellyfin 2', url: 'http://jellyfin.lan/hook', secret: 'abc' })
    expect(wrapper.get('[data-testid="admin-notifications-done"]').text()).toBe('Saved "Jellyfin 2".')
    expect(wrapper.text()).toContain('New target') // the form is empty again
    expect(wrapper.get<HTMLInputElement>('[data-testid="admin-notification-name"]').element.value).toBe('')
    wrapper.unmount()
  })

  it('deletes a target only once asked, and says so', async () => {
    let listed = [HOOK]
    const { fetch, calls } = routeFetch({
      'GET /api/admin/notifications': () => new Response(JSON.stringify({ targets: listed, events: [] }), { status: 200 }),
      'DELETE /api/admin/notifications/t1': () => {
        listed = []
        return new Response(null, { status: 204 })
      },
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(AdminNotifications, { attachTo: document.body })
    await flushPromises()

    await wrapper.get('[data-testid="admin-notification-delete"]').trigger('click')
    expect(useConfirmStore().current?.title).toBe('Delete "Jellyfin"?')
    await confirmNext(false)
    expect(calls.some(([method]) => method === 'DELETE')).toBe(false)

    await wrapper.get('[data-testid="admin-notification-edit"]').trigger('click')
    await wrapper.get('[data-testid="admin-notification-delete"]').trigger('click')
    await confirmNext(true)
    expect(calls.filter(([method]) => method === 'DELETE')).toHaveLength(1)
    expect(wrapper.get('[data-testid="admin-notifications-done"]').text()).toBe('Deleted "Jellyfin".')
    expect(wrapper.find('[data-testid="admin-notification-target"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="admin-notifications-none"]').exists()).toBe(true)
    expect(wrapper.text()).toContain('New target') // the deleted one is no longer edited
    wrapper.unmount()
  })

  it('shows a refusal and keeps what was typed', async () => {
    vi.stubGlobal(
      'fetch',
      routeFetch({
        'GET /api/admin/notifications': { targets: [], events: [] },
        'POST /api/admin/notifications': apiError(422, 'invalid_request', 'url: not a webhook address'),
      }).fetch,
    )
    const wrapper = mount(AdminNotifications, { attachTo: document.body })
    await flushPromises()
    await wrapper.get('[data-testid="admin-notification-name"]').setValue('Bad')
    await wrapper.get('[data-testid="admin-notification-url"]').setValue('ftp://x')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="admin-page-error"]').text()).toContain('not a webhook address')
    expect(wrapper.get<HTMLInputElement>('[data-testid="admin-notification-name"]').element.value).toBe('Bad')
    expect(wrapper.find('[data-testid="admin-notifications-done"]').exists()).toBe(false)
    wrapper.unmount()
  })
})

describe('the presets page', () => {
  it('lists the presets with the default marked, and deletes one once asked', async () => {
    let listed = [TALKS, { ...TALKS, id: 'p2', name: 'Video' }]
    const { fetch, calls } = routeFetch({
      'GET /api/presets': () => new Response(JSON.stringify({ presets: listed, default: 'p2' }), { status: 200 }),
      'DELETE /api/admin/presets/p1': () => {
        listed = listed.filter((p) => p.id !== 'p1')
        return new Response(null, { status: 204 })
      },
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(AdminPresets, { attachTo: document.body })
    await flushPromises()
    const rows = wrapper.findAll('[data-testid="admin-preset"]')
    expect(rows).toHaveLength(2)
    expect(rows[1].find('[data-testid="admin-preset-default"]').exists()).toBe(true)

    await rows[0].get('[data-testid="admin-preset-delete"]').trigger('click')
    expect(useConfirmStore().current?.message).toBe('People can no longer pick it; jobs made with it keep their options.')
    await confirmNext(true)
    expect(calls.filter(([method]) => method === 'DELETE')).toHaveLength(1)
    expect(wrapper.get('[data-testid="admin-presets-done"]').text()).toBe('Deleted "Talks".')
    expect(wrapper.findAll('[data-testid="admin-preset"]')).toHaveLength(1)
    wrapper.unmount()
  })

  it('makes a new preset and empties the form', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/presets': { presets: [], default: null },
      'POST /api/admin/presets': { ...TALKS, id: 'p9', name: 'Podcasts' },
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(AdminPresets, { attachTo: document.body })
    await flushPromises()
    await wrapper.get('[data-testid="admin-preset-name"]').setValue('Podcasts')
    await wrapper.get('[data-testid="admin-preset-folder"]').setValue('pods')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    const post = calls.find(([method]) => method === 'POST')
    expect(post?.[2]).toMatchObject({ name: 'Podcasts', options: { folder: 'pods' }, default: false })
    expect(wrapper.get('[data-testid="admin-presets-done"]').text()).toBe('Saved "Podcasts".')
    expect(wrapper.get<HTMLInputElement>('[data-testid="admin-preset-folder"]').element.value).toBe('')
    wrapper.unmount()
  })
})
