import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import ConfirmDialog from '../src/components/ConfirmDialog.vue'
import AdminApiKey from '../src/components/admin/AdminApiKey.vue'
import AdminApp from '../src/components/admin/AdminApp.vue'
import AdminLogin from '../src/components/admin/AdminLogin.vue'
import AdminSetup from '../src/components/admin/AdminSetup.vue'
import { currentPath, navigate } from '../src/router'
import { useAdminStore } from '../src/stores/admin'
import { useConfirmStore } from '../src/stores/confirm'
import { apiError, jsonResponse, routeFetch } from './helpers'

const LOGGED_IN = { setup_required: false, logged_in: true, username: 'boss', admin_enabled: true }
const LOGGED_OUT = { setup_required: false, logged_in: false, username: null, admin_enabled: true }

beforeEach(() => {
  setActivePinia(createPinia())
})

afterEach(() => {
  vi.useRealTimers()
  document.body.innerHTML = ''
})

describe('the login form', () => {
  it('says how long a lock-out lasts and keeps the button disabled until then', async () => {
    vi.useFakeTimers()
    const { fetch } = routeFetch({
      'POST /api/admin/login': apiError(429, 'too_many_attempts', 'Too many failed attempts.', { 'Retry-After': '3' }),
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(AdminLogin, { attachTo: document.body })
    await wrapper.get('[data-testid="admin-login-username"]').setValue('admin')
    await wrapper.get('[data-testid="admin-login-password"]').setValue('guess')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    const submit = wrapper.get('[data-testid="admin-login-submit"]')
    expect(wrapper.get('[data-testid="admin-login-error"]').text()).toBe('Too many attempts: try again in 3 s')
    expect(submit.attributes('disabled')).toBeDefined()
    expect(wrapper.get('[data-testid="admin-login-password"]').attributes('aria-describedby')).toBe('login-error')

    await vi.advanceTimersByTimeAsync(1000)
    expect(wrapper.get('[data-testid="admin-login-error"]').text()).toBe('Too many attempts: try again in 2 s')
    await vi.advanceTimersByTimeAsync(2000)
    expect(wrapper.find('[data-testid="admin-login-error"]').exists()).toBe(false)
    expect(submit.attributes('disabled')).toBeUndefined()
    wrapper.unmount()
  })

  it('shows a wrong password and puts the cursor back in the password field', async () => {
    vi.stubGlobal(
      'fetch',
      routeFetch({ 'POST /api/admin/login': apiError(401, 'bad_credentials', 'Wrong username or password.') }).fetch,
    )
    const wrapper = mount(AdminLogin, { attachTo: document.body })
    await wrapper.get('[data-testid="admin-login-password"]').setValue('nope')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="admin-login-error"]').text()).toBe('Wrong username or password.')
    expect(document.activeElement).toBe(wrapper.get('[data-testid="admin-login-password"]').element)
    wrapper.unmount()
  })
})

describe('the setup form', () => {
  it('says where the token is, and checks the two passwords before asking the server', async () => {
    const { fetch, calls } = routeFetch({
      'POST /api/admin/setup': apiError(422, 'invalid_request', 'password: at least 8 characters, please'),
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(AdminSetup, { attachTo: document.body })
    expect(wrapper.text()).toContain("The one-time setup token is printed in the server's log at startup")
    await wrapper.get('[data-testid="admin-setup-token"]').setValue('tok')
    await wrapper.get('[data-testid="admin-setup-password"]').setValue('short')
    await wrapper.get('[data-testid="admin-setup-confirm"]').setValue('shorter')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(calls).toHaveLength(0)
    expect(wrapper.get('[data-testid="admin-setup-error-confirm"]').text()).toBe('The two passwords differ.')
    await wrapper.get('[data-testid="admin-setup-confirm"]').setValue('short')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="admin-setup-error-password"]').text()).toBe('At least 8 characters, please')
    expect(wrapper.get('[data-testid="admin-setup-password"]').attributes('aria-invalid')).toBe('true')
    wrapper.unmount()
  })
})

describe('the confirm dialog', () => {
  const Host = defineComponent({
    setup() {
      return () => [h('button', { id: 'opener' }, 'Open'), h(ConfirmDialog)]
    },
  })

  it('opens as a modal dialog with the focus on Cancel, and answers yes or no', async () => {
    const wrapper = mount(Host, { attachTo: document.body })
    const opener = document.getElementById('opener') as HTMLButtonElement
    opener.focus()
    const confirm = useConfirmStore()
    const answer = confirm.ask({ title: 'Purge now?', message: 'This cannot be undone.', confirmLabel: 'Purge now', danger: true })
    await flushPromises()
    const dialog = wrapper.get('dialog')
    expect(dialog.attributes('open')).toBeDefined()
    expect(dialog.attributes('aria-labelledby')).toBe('confirm-title')
    expect(wrapper.get('#confirm-title').text()).toBe('Purge now?')
    expect(document.activeElement).toBe(wrapper.get('[data-testid="confirm-cancel"]').element)
    await wrapper.get('[data-testid="confirm-ok"]').trigger('click')
    await expect(answer).resolves.toBe(true)
    await flushPromises()
    expect(dialog.attributes('open')).toBeUndefined()
    expect(document.activeElement).toBe(opener) // back where it was

    const second = confirm.ask({ title: 'Revoke?', message: '…', confirmLabel: 'Revoke' })
    await flushPromises()
    await wrapper.get('[data-testid="confirm-cancel"]').trigger('click')
    await expect(second).resolves.toBe(false)

    const third = confirm.ask({ title: 'Clear?', message: '…', confirmLabel: 'Clear' })
    await flushPromises()
    await wrapper.get('dialog').trigger('keydown', { key: 'Escape' })
    await expect(third).resolves.toBe(false)
    wrapper.unmount()
  })

  it('keeps Tab inside the dialog', async () => {
    const wrapper = mount(Host, { attachTo: document.body })
    void useConfirmStore().ask({ title: 'Sure?', message: '…', confirmLabel: 'Yes' })
    await flushPromises()
    const ok = wrapper.get('[data-testid="confirm-ok"]').element as HTMLElement
    const cancel = wrapper.get('[data-testid="confirm-cancel"]').element as HTMLElement
    ok.focus()
    await wrapper.get('dialog').trigger('keydown', { key: 'Tab' })
    expect(document.activeElement).toBe(cancel)
    await wrapper.get('dialog').trigger('keydown', { key: 'Tab', shiftKey: true })
    expect(document.activeElement).toBe(ok)
    useConfirmStore().settle(false)
    wrapper.unmount()
  })
})

describe('the admin panel', () => {
  afterEach(() => navigate('/'))

  it('shows setup first, then the pages, and moves the focus to the heading of each', async () => {
    let status: object = { ...LOGGED_OUT, setup_required: true }
    const { fetch } = routeFetch({
      'GET /api/admin/status': () => jsonResponse(200, status),
      'POST /api/admin/setup': () => {
        status = LOGGED_IN
        return jsonResponse(200, LOGGED_IN)
      },
      'GET /api/admin/storage': { disk: { total: 100, used: 40, free: 60 }, jobs: { completed: 2 }, files_bytes: 5, sessions: [] },
      'GET /api/admin/errors': { errors: [] },
      'GET /api/admin/api-key': { configured: false, pinned: false, masked: null },
      'GET /api/admin/sessions': { sessions: [] },
    })
    vi.stubGlobal('fetch', fetch)
    navigate('/admin')
    const wrapper = mount(AdminApp, { attachTo: document.body })
    await flushPromises()
    expect(wrapper.find('[data-testid="admin-setup-token"]').exists()).toBe(true)
    await wrapper.get('[data-testid="admin-setup-token"]').setValue('tok')
    await wrapper.get('[data-testid="admin-setup-password"]').setValue('correct horse')
    await wrapper.get('[data-testid="admin-setup-confirm"]').setValue('correct horse')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="admin-overview-jobs"]').text()).toBe('2')
    expect(document.activeElement?.id).toBe('admin-page-heading')
    expect(wrapper.get('[data-testid="admin-nav-overview"]').attributes('aria-current')).toBe('page')

    await wrapper.get('[data-testid="admin-nav-sessions"]').trigger('click')
    await flushPromises()
    expect(currentPath.value).toBe('/admin/sessions')
    expect(wrapper.get('[data-testid="admin-nav-sessions"]').attributes('aria-current')).toBe('page')
    expect(document.activeElement?.textContent).toBe('Sessions')
    expect(document.title).toBe('Sessions · media-rip admin')
    wrapper.unmount()
  })

  it('goes back to the login form when a page finds the session ended', async () => {
    const { fetch } = routeFetch({
      'GET /api/admin/status': LOGGED_IN,
      'GET /api/admin/errors': apiError(401, 'admin_login_required', 'Log in to the admin panel first.'),
    })
    vi.stubGlobal('fetch', fetch)
    navigate('/admin/errors')
    const wrapper = mount(AdminApp, { attachTo: document.body })
    await flushPromises()
    expect(wrapper.find('[data-testid="admin-login-username"]').exists()).toBe(true)
    expect(wrapper.get('[data-testid="admin-login-notice"]').text()).toMatch(/session has ended/)
    expect(useAdminStore().loggedIn).toBe(false)
    wrapper.unmount()
  })
})

describe('the API key page', () => {
  it('shows a new key once, with a copy button, then only its end; revoking asks first', async () => {
    const key = 'abcdefghijklmnopqrstuvwxyz0123456789WXYZ'
    const { fetch, calls } = routeFetch({
      'GET /api/admin/api-key': { configured: false, pinned: false, masked: null },
      'POST /api/admin/api-key': jsonResponse(201, { configured: true, pinned: false, masked: '…WXYZ', key }),
      'GET /api/config/public': {},
      'DELETE /api/admin/api-key': { configured: false, pinned: false, masked: null },
    })
    vi.stubGlobal('fetch', fetch)
    const writeText = vi.fn(async () => undefined)
    vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText } })
    const wrapper = mount(
      defineComponent({ setup: () => () => [h(AdminApiKey), h(ConfirmDialog)] }),
      { attachTo: document.body },
    )
    await flushPromises()
    expect(wrapper.get('[data-testid="admin-apikey-value"]').text()).toBe('None')
    await wrapper.get('[data-testid="admin-apikey-generate"]').trigger('click') // no key yet: no question
    await flushPromises()
    const value = wrapper.get('[data-testid="admin-apikey-value"]')
    expect(value.text()).toBe(key)
    expect(document.activeElement).toBe(wrapper.get('[data-testid="admin-apikey-copy"]').element)
    await wrapper.get('[data-testid="admin-apikey-copy"]').trigger('click')
    await flushPromises()
    expect(writeText).toHaveBeenCalledWith(key)
    await wrapper.get('[data-testid="admin-apikey-hide"]').trigger('click')
    expect(wrapper.get('[data-testid="admin-apikey-value"]').text()).toBe('…WXYZ')
    expect(wrapper.text()).not.toContain(key)

    await wrapper.get('[data-testid="admin-apikey-revoke"]').trigger('click')
    await flushPromises()
    await wrapper.get('[data-testid="confirm-cancel"]').trigger('click')
    await flushPromises()
    expect(calls.some(([m]) => m === 'DELETE')).toBe(false)
    await wrapper.get('[data-testid="admin-apikey-revoke"]').trigger('click')
    await flushPromises()
    await wrapper.get('[data-testid="confirm-ok"]').trigger('click')
    await flushPromises()
    expect(calls.at(-1)?.slice(0, 2)).toEqual(['DELETE', '/api/admin/api-key'])
    expect(wrapper.get('[data-testid="admin-apikey-value"]').text()).toBe('None')
    wrapper.unmount()
  })
})

describe('the app at /admin', () => {
  afterEach(() => navigate('/'))

  it('shows the panel instead of the download page, and the header links to it discreetly', async () => {
    const { default: App } = await import('../src/App.vue')
    const { default: AppHeader } = await import('../src/components/AppHeader.vue')
    const { useConfigStore } = await import('../src/stores/config')
    vi.stubGlobal('fetch', routeFetch({ 'GET /api/admin/status': LOGGED_OUT }).fetch)
    navigate('/admin')
    const app = mount(App, { attachTo: document.body })
    await flushPromises()
    await vi.dynamicImportSettled()
    await flushPromises()
    expect(app.find('[data-testid="admin-login-username"]').exists()).toBe(true)
    expect(app.find('[data-testid="url-input"]').exists()).toBe(false)
    expect(app.findAll('[data-testid="live-region"]')).toHaveLength(1)
    app.unmount()

    const header = mount(AppHeader)
    expect(header.find('[data-testid="admin-link"]').exists()).toBe(false)
    useConfigStore().config.admin_enabled = true
    await flushPromises()
    const link = header.get('[data-testid="admin-link"]')
    expect(link.attributes('href')).toBe('/admin')
    expect(link.attributes('aria-label')).toBe('Admin panel')
    header.unmount()
  })
})
