import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import AdminSettings from '../src/components/admin/AdminSettings.vue'
import {
  controlOf,
  fromDraft,
  kindOf,
  numberBounds,
  previewTemplate,
  previewTemplates,
  sortErrors,
  splitFieldMessage,
  toDraft,
} from '../src/settingsForm'
import { extractorArgs, namedOptions } from '../src/settingEntries'
import { useAdminSettingsStore } from '../src/stores/adminSettings'
import type { SettingView } from '../src/types'
import { apiError, jsonResponse, routeFetch } from './helpers'

function setting(key: string, value: unknown, extra: Partial<SettingView> = {}): SettingView {
  return { key, value, pinned: false, editable: true, overridden: false, applies: 'now', ...extra }
}

function body(list: SettingView[]) {
  return { settings: Object.fromEntries(list.map((s) => [s.key, s])) }
}

const SETTINGS = [
  setting('server.port', 8000, { editable: false }),
  setting('downloads.max_concurrent', 3),
  setting('downloads.allow_private_networks', true, { pinned: true, editable: false }),
  setting('downloads.source_templates', { '*': '%(title)s.%(ext)s' }),
  setting('downloads.rate_limit', null),
  setting('ui.welcome_message', 'Hello', { overridden: true }),
  setting('session.mode', 'isolated', { applies: 'restart' }),
  setting('purge.enabled', true),
]

beforeEach(() => {
  setActivePinia(createPinia())
})

describe('the settings form model', () => {
  it('gives each value a field and reads it back', () => {
    expect(SETTINGS.map((s) => kindOf(s.value))).toEqual([
      'number', 'number', 'boolean', 'json', 'nullable', 'string', 'string', 'boolean',
    ])
    expect(toDraft(20.5)).toBe('20.5')
    expect(fromDraft(' 5 ', 'number')).toEqual({ ok: true, value: 5 })
    expect(fromDraft('abc', 'number')).toEqual({ ok: true, value: 'abc' }) // the server explains
    expect(fromDraft('', 'nullable')).toEqual({ ok: true, value: null })
    expect(fromDraft('500000', 'nullable')).toEqual({ ok: true, value: 500000 })
    expect(fromDraft('5M', 'nullable')).toEqual({ ok: true, value: '5M' })
    expect(fromDraft('{"a": 1}', 'json')).toEqual({ ok: true, value: { a: 1 } })
    expect(fromDraft('{a', 'json')).toMatchObject({ ok: false, error: expect.stringMatching(/not valid JSON/) })
    expect(fromDraft(' keep spaces ', 'string')).toEqual({ ok: true, value: ' keep spaces ' })
  })

  it('sorts the lines of a refusal by the key they name', () => {
    const keys = ['downloads.max_concurrent', 'downloads.max_concurrent_x', 'ui.welcome_message']
    const sorted = sortErrors(
      'downloads.max_concurrent: expected an integer from 1 to 32, got 0 (from admin settings)\n' +
        'ui.welcome_message is set by the environment (MEDIARIP__UI__WELCOME_MESSAGE)\n' +
        'unknown key downloads.max_concurent in admin settings; did you mean downloads.max_concurrent?',
      keys,
    )
    expect(sorted.fields).toEqual({
      'downloads.max_concurrent': 'Expected an integer from 1 to 32, got 0 (from admin settings)',
      'ui.welcome_message': 'ui.welcome_message is set by the environment (MEDIARIP__UI__WELCOME_MESSAGE)',
    })
    expect(sorted.other).toEqual([
      'unknown key downloads.max_concurent in admin settings; did you mean downloads.max_concurrent?',
    ])
    expect(splitFieldMessage('new: at least 8 characters, please', ['current', 'new'])).toEqual({
      field: 'new',
      text: 'At least 8 characters, please',
    })
    expect(splitFieldMessage('Wrong username or password.', ['new'])).toEqual({
      field: null,
      text: 'Wrong username or password.',
    })
  })
})

describe('the settings store', () => {
  it('sends only what changed, typed, and takes the answer', async () => {
    const saved = SETTINGS.map((s) =>
      s.key === 'downloads.max_concurrent' ? { ...s, value: 5, overridden: true } : s,
    )
    const { fetch, calls } = routeFetch({
      'GET /api/admin/settings': body(SETTINGS),
      'PATCH /api/admin/settings': body(saved),
    })
    vi.stubGlobal('fetch', fetch)
    const store = useAdminSettingsStore()
    await store.load()
    expect(store.drafts['downloads.max_concurrent']).toBe('3')
    expect(await store.save()).toEqual({ ok: false, reason: 'nothing', keys: [] })
    store.setDraft('downloads.max_concurrent', '5')
    store.setDraft('downloads.source_templates', '{"*": "%(title)s.%(ext)s"}') // the same value
    expect(store.dirtyKeys).toEqual(['downloads.max_concurrent'])
    expect(await store.save()).toEqual({ ok: true, saved: ['downloads.max_concurrent'] })
    expect(calls.at(-1)).toEqual(['PATCH', '/api/admin/settings', { 'downloads.max_concurrent': 5 }])
    expect(store.byKey.get('downloads.max_concurrent')?.overridden).toBe(true)
    expect(store.dirtyKeys).toEqual([])
  })

  it('shows each refused key next to its field, and what names no field above the form', async () => {
    const { fetch } = routeFetch({
      'GET /api/admin/settings': body(SETTINGS),
      'PATCH /api/admin/settings': apiError(
        422,
        'invalid_setting',
        'downloads.max_concurrent: expected an integer from 1 to 32, got 0 (from admin settings)\n' +
          "session.mode: expected one of isolated, shared, open, got 'x' (from admin settings)",
      ),
    })
    vi.stubGlobal('fetch', fetch)
    const store = useAdminSettingsStore()
    await store.load()
    store.setDraft('downloads.max_concurrent', '0')
    store.setDraft('session.mode', 'x')
    expect(await store.save()).toEqual({
      ok: false,
      reason: 'refused',
      keys: ['downloads.max_concurrent', 'session.mode'],
    })
    expect(store.fieldErrors['downloads.max_concurrent']).toMatch(/^Expected an integer from 1 to 32/)
    expect(store.fieldErrors['session.mode']).toMatch(/one of isolated, shared, open/)
    expect(store.drafts['downloads.max_concurrent']).toBe('0') // the person's input stays
    store.setDraft('downloads.max_concurrent', '2') // typing again clears that field's error
    expect(store.fieldErrors['downloads.max_concurrent']).toBeUndefined()
  })

  it('refuses bad JSON itself, without asking the server', async () => {
    const { fetch, calls } = routeFetch({ 'GET /api/admin/settings': body(SETTINGS) })
    vi.stubGlobal('fetch', fetch)
    const store = useAdminSettingsStore()
    await store.load()
    store.setDraft('downloads.source_templates', '{"*": ')
    expect(await store.save()).toMatchObject({ ok: false, reason: 'invalid', keys: ['downloads.source_templates'] })
    expect(calls).toHaveLength(1)
  })

  it('resets one setting and keeps the other unsaved drafts', async () => {
    const afterReset = SETTINGS.map((s) =>
      s.key === 'ui.welcome_message' ? { ...s, value: '', overridden: false } : s,
    )
    const { fetch, calls } = routeFetch({
      'GET /api/admin/settings': body(SETTINGS),
      'DELETE /api/admin/settings/ui.welcome_message': body(afterReset),
    })
    vi.stubGlobal('fetch', fetch)
    const store = useAdminSettingsStore()
    await store.load()
    store.setDraft('downloads.max_concurrent', '7')
    expect(await store.reset('ui.welcome_message')).toBe(true)
    expect(calls.at(-1)?.slice(0, 2)).toEqual(['DELETE', '/api/admin/settings/ui.welcome_message'])
    expect(store.drafts['ui.welcome_message']).toBe('')
    expect(store.drafts['downloads.max_concurrent']).toBe('7')
  })
})

describe('the settings page', () => {
  it("shows the server's 422 next to the field, marked invalid, and focuses it", async () => {
    const { fetch } = routeFetch({
      'GET /api/admin/settings': body(SETTINGS),
      'PATCH /api/admin/settings': apiError(
        422,
        'invalid_setting',
        'downloads.max_concurrent: expected an integer from 1 to 32, got 0 (from admin settings)',
      ),
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(AdminSettings, { attachTo: document.body })
    await flushPromises()
    const field = wrapper.get('[data-testid="admin-setting-downloads.max_concurrent"]')
    await field.setValue('0')
    await wrapper.get('[data-testid="admin-settings-form"]').trigger('submit')
    await flushPromises()
    const error = wrapper.get('[data-testid="admin-setting-error-downloads.max_concurrent"]')
    expect(error.text()).toBe('Expected an integer from 1 to 32, got 0 (from admin settings)')
    expect(field.attributes('aria-invalid')).toBe('true')
    expect(field.attributes('aria-describedby')).toContain(error.attributes('id'))
    expect(document.activeElement).toBe(field.element)
    wrapper.unmount()
  })

  it('shows pinned settings read-only, "set by the environment", and read-only ones marked', async () => {
    vi.stubGlobal('fetch', routeFetch({ 'GET /api/admin/settings': body(SETTINGS) }).fetch)
    const wrapper = mount(AdminSettings)
    await flushPromises()
    const pinned = wrapper.get('[data-testid="admin-setting-downloads.allow_private_networks"]')
    expect(pinned.attributes('disabled')).toBeDefined()
    expect(wrapper.get('[data-testid="admin-setting-note-downloads.allow_private_networks"]').text()).toContain(
      'set by the environment (MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS)',
    )
    const port = wrapper.get('[data-testid="admin-setting-server.port"]')
    expect(port.attributes('readonly')).toBeDefined()
    expect(wrapper.get('[data-testid="admin-setting-note-server.port"]').text()).toContain('Read-only')
    expect(wrapper.get('[data-testid="admin-setting-note-session.mode"]').text()).toContain('Applies after a restart')
    // Only a value the panel set can be reset; the server's own section comes last.
    expect(wrapper.findAll('[data-testid^="admin-setting-reset-"]').map((b) => b.attributes('data-testid'))).toEqual([
      'admin-setting-reset-ui.welcome_message',
    ])
    expect(wrapper.findAll('fieldset').at(-1)?.attributes('data-section')).toBe('server')
    expect(wrapper.get('[data-testid="admin-setting-purge.enabled"]').attributes('type')).toBe('checkbox')
    wrapper.unmount()
  })

  it('saves, says so, and resets to the default', async () => {
    const { fetch, calls } = routeFetch({
      'GET /api/admin/settings': body(SETTINGS),
      'PATCH /api/admin/settings': body(SETTINGS.map((s) => (s.key === 'purge.enabled' ? { ...s, value: false } : s))),
      'DELETE /api/admin/settings/ui.welcome_message': jsonResponse(200, body(SETTINGS)),
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(AdminSettings)
    await flushPromises()
    await wrapper.get('[data-testid="admin-setting-purge.enabled"]').setValue(false)
    await wrapper.get('[data-testid="admin-settings-form"]').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)).toEqual(['PATCH', '/api/admin/settings', { 'purge.enabled': false }])
    expect(wrapper.get('[data-testid="admin-settings-done"]').text()).toBe('Saved purge.enabled.')
    await wrapper.get('[data-testid="admin-setting-reset-ui.welcome_message"]').trigger('click')
    await flushPromises()
    expect(calls.at(-1)?.slice(0, 2)).toEqual(['DELETE', '/api/admin/settings/ui.welcome_message'])
    wrapper.unmount()
  })
})

describe('typed controls from the declared facts', () => {
  function facts(type: string, extra: Partial<NonNullable<SettingView['facts']>> = {}) {
    return {
      type,
      help: `What ${type} does.`,
      default: null,
      optional: false,
      choices: [],
      minimum: null,
      maximum: null,
      panel: true,
      applies: 'now' as const,
      ...extra,
    }
  }

  it('gives each setting the control its declaration asks for', () => {
    const mode = facts('choice', { choices: ['isolated', 'shared', 'open'] })
    expect(controlOf(setting('session.mode', 'isolated', { facts: mode }))).toBe('select')
    expect(controlOf(setting('purge.enabled', true, { facts: facts('boolean') }))).toBe('toggle')
    expect(controlOf(setting('downloads.max_concurrent', 3, { facts: facts('integer') }))).toBe('number')
    const templates = setting('downloads.source_templates', { '*': 'x' }, { facts: facts('templates') })
    expect(controlOf(templates)).toBe('templates')
    expect(controlOf(setting('ytdlp.extra_options', {}, { facts: facts('map') }))).toBe('json')
    // Without facts (an older server), the value's own type decides.
    expect(controlOf(setting('ui.welcome_message', 'Hi'))).toBe('text')
  })

  it('takes a number field\'s bounds from the declaration', () => {
    expect(numberBounds(facts('integer', { minimum: 1, maximum: 32 }))).toEqual({ min: 1, max: 32, step: 1 })
    expect(numberBounds(facts('number', { minimum: 0, maximum: 300 }))).toEqual({ min: 0, max: 300, step: 'any' })
  })

  it('previews the file name a template makes', () => {
    expect(previewTemplate('%(title)s [%(id)s].%(ext)s')).toBe('Big Buck Bunny [aqz-KE-bpKQ].mp4')
    expect(previewTemplate('%(uploader)s/%(playlist_index)03d - %(title)s.%(ext)s')).toBe(
      'Blender/01 - Big Buck Bunny.mp4',
    )
    expect(previewTemplates('{"*": "%(title)s.%(ext)s", "example.com": "x/%(id)s.%(ext)s"}')).toEqual([
      ['*', 'Big Buck Bunny.mp4'],
      ['example.com', 'x/aqz-KE-bpKQ.mp4'],
    ])
    expect(previewTemplates('{not json')).toEqual([])
  })

  it('renders a select, a bounded number field, help and a template preview', async () => {
    const list = [
      setting('session.mode', 'isolated', { facts: facts('choice', { choices: ['isolated', 'shared', 'open'] }) }),
      setting('downloads.max_concurrent', 3, { facts: facts('integer', { minimum: 1, maximum: 32 }) }),
      setting('downloads.source_templates', { '*': '%(title)s.%(ext)s' }, { facts: facts('templates') }),
    ]
    const fields = Object.fromEntries(list.map((s) => [s.key, s.facts]))
    const answer = { ...body(list.map(({ facts: _f, ...view }) => view)), fields }
    vi.stubGlobal('fetch', routeFetch({ 'GET /api/admin/settings': answer }).fetch)
    const wrapper = mount(AdminSettings)
    await flushPromises()
    const select = wrapper.get('[data-testid="admin-setting-session.mode"]')
    expect(select.element.tagName).toBe('SELECT')
    expect(select.findAll('option').map((o) => o.text())).toEqual(['isolated', 'shared', 'open'])
    const number = wrapper.get('[data-testid="admin-setting-downloads.max_concurrent"]')
    expect(number.attributes()).toMatchObject({ type: 'number', min: '1', max: '32', step: '1' })
    expect(wrapper.text()).toContain('What integer does.')
    expect(wrapper.get('[data-testid="admin-setting-preview-downloads.source_templates"]').text()).toContain(
      'Big Buck Bunny.mp4',
    )
  })
})

describe('maps and lists as rows', () => {
  const templateFacts = {
    type: 'templates',
    help: 'Templates.',
    default: null,
    optional: false,
    choices: [],
    minimum: null,
    maximum: null,
    panel: true,
    applies: 'now' as const,
  }

  it('edits the templates as domain/template rows, adding and removing rows', async () => {
    const list = [setting('downloads.source_templates', { '*': '%(title)s.%(ext)s' })]
    const answer = { ...body(list), fields: { 'downloads.source_templates': templateFacts } }
    vi.stubGlobal('fetch', routeFetch({ 'GET /api/admin/settings': answer }).fetch)
    const wrapper = mount(AdminSettings)
    await flushPromises()
    const store = useAdminSettingsStore()
    const key = 'admin-setting-downloads.source_templates'
    expect((wrapper.get(`[data-testid="${key}-key-0"]`).element as HTMLInputElement).value).toBe('*')
    await wrapper.get(`[data-testid="${key}-add"]`).trigger('click')
    await wrapper.get(`[data-testid="${key}-key-1"]`).setValue('example.com')
    await wrapper.get(`[data-testid="${key}-value-1"]`).setValue('ex/%(id)s.%(ext)s')
    expect(JSON.parse(String(store.drafts['downloads.source_templates']))).toEqual({
      '*': '%(title)s.%(ext)s',
      'example.com': 'ex/%(id)s.%(ext)s',
    })
    expect(store.dirtyKeys).toEqual(['downloads.source_templates'])
    expect(wrapper.text()).toContain('ex/aqz-KE-bpKQ.mp4')
    await wrapper.get(`[data-testid="${key}-remove-1"]`).trigger('click')
    expect(JSON.parse(String(store.drafts['downloads.source_templates']))).toEqual({
      '*': '%(title)s.%(ext)s',
    })
    expect(store.dirtyKeys).toEqual([])
  })

  it('edits a list of addresses as rows', async () => {
    const list = [setting('downloads.private_allowlist', ['10.0.0.5/32'])]
    const answer = {
      ...body(list),
      fields: { 'downloads.private_allowlist': { ...templateFacts, type: 'list' } },
    }
    vi.stubGlobal('fetch', routeFetch({ 'GET /api/admin/settings': answer }).fetch)
    const wrapper = mount(AdminSettings)
    await flushPromises()
    const key = 'admin-setting-downloads.private_allowlist'
    await wrapper.get(`[data-testid="${key}-value-0"]`).setValue('192.168.1.10')
    expect(JSON.parse(String(useAdminSettingsStore().drafts['downloads.private_allowlist']))).toEqual([
      '192.168.1.10',
    ])
  })
})

describe("yt-dlp's options and extractor arguments as rows", () => {
  const facts = (type: string, choices: string[] = []) => ({
    type,
    help: 'Help.',
    default: {},
    optional: false,
    choices,
    minimum: null,
    maximum: null,
    panel: true,
    applies: 'now' as const,
  })

  it('reads and writes named options of any JSON type, the names offered from the choices', () => {
    const shape = namedOptions(['retries', 'proxy', 'format_sort'])
    const rows = shape.read(JSON.stringify({ retries: 5, proxy: 'socks5://127.0.0.1:9050', format_sort: ['res'] }))
    expect(rows).toEqual([
      ['retries', '5'],
      ['proxy', 'socks5://127.0.0.1:9050'],
      ['format_sort', '["res"]'],
    ])
    expect(JSON.parse(shape.write([...rows!, ['geo_bypass', 'true']]))).toEqual({
      retries: 5,
      proxy: 'socks5://127.0.0.1:9050',
      format_sort: ['res'],
      geo_bypass: true,
    })
    expect(shape.read('[1, 2]')).toBeNull()
  })

  it('reads and writes extractor arguments one argument a row, values split at commas', () => {
    const draft = JSON.stringify({ youtube: { player_client: ['web', 'tv'], lang: ['en'] }, vimeo: {} })
    const rows = extractorArgs.read(draft)
    expect(rows).toEqual([
      ['youtube', 'player_client', 'web, tv'],
      ['youtube', 'lang', 'en'],
      ['vimeo', '', ''],
    ])
    expect(JSON.parse(extractorArgs.write(rows!))).toEqual(JSON.parse(draft))
    expect(extractorArgs.read(JSON.stringify({ youtube: { lang: 'en' } }))).toBeNull()
  })

  it('keeps a half-typed value as typed while the draft follows it', async () => {
    const list = [setting('ytdlp.extractor_args', {}), setting('ytdlp.extra_options', {})]
    const answer = {
      ...body(list),
      fields: {
        'ytdlp.extractor_args': facts('extractor_args'),
        'ytdlp.extra_options': facts('options', ['retries', 'proxy']),
      },
    }
    vi.stubGlobal('fetch', routeFetch({ 'GET /api/admin/settings': answer }).fetch)
    const wrapper = mount(AdminSettings)
    await flushPromises()
    const store = useAdminSettingsStore()
    const args = 'admin-setting-ytdlp.extractor_args'
    await wrapper.get(`[data-testid="${args}-add"]`).trigger('click')
    await wrapper.get(`[data-testid="${args}-key-0"]`).setValue('youtube')
    await wrapper.get(`[data-testid="${args}-argument-0"]`).setValue('player_client')
    const values = wrapper.get(`[data-testid="${args}-value-0"]`)
    await values.setValue('web,')
    expect((values.element as HTMLInputElement).value).toBe('web,')
    await values.setValue('web, tv')
    expect(JSON.parse(String(store.drafts['ytdlp.extractor_args']))).toEqual({
      youtube: { player_client: ['web', 'tv'] },
    })
    const options = 'admin-setting-ytdlp.extra_options'
    await wrapper.get(`[data-testid="${options}-add"]`).trigger('click')
    const name = wrapper.get(`[data-testid="${options}-key-0"]`)
    expect(name.attributes('list')).toBeTruthy()
    expect(wrapper.findAll(`datalist#${name.attributes('list')} option`).map((o) => o.attributes('value'))).toEqual([
      'retries',
      'proxy',
    ])
    await name.setValue('retries')
    await wrapper.get(`[data-testid="${options}-value-0"]`).setValue('7')
    expect(JSON.parse(String(store.drafts['ytdlp.extra_options']))).toEqual({ retries: 7 })
    expect(store.dirtyKeys.sort()).toEqual(['ytdlp.extra_options', 'ytdlp.extractor_args'])
  })
})
