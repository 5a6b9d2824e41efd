// The admin pages that list things and edit them in a form below the list (presets,
// notification targets): the list, its error and "done" lines, the busy flag while saving,
// which item the form edits, and loading, saving and deleting with the same words and order.
// The page keeps its own form fields, what it sends, and how an item is shown.
import { ref, type Ref } from 'vue'
import { useAdminStore } from '../stores/admin'
import { useConfirmStore } from '../stores/confirm'
import { useNoticesStore } from '../stores/notices'

interface Item {
  id: string
  name: string
}

export interface AdminItemsApi<T extends Item, Body> {
  list: () => Promise<T[]>
  create: (body: Body) => Promise<T>
  update: (id: string, body: Body) => Promise<T>
  remove: (id: string) => Promise<void>
  /** What the delete confirmation says follows a deletion. */
  removeMessage: string
  /** Empties the page's form fields. */
  resetForm: () => void
}

export function useAdminItems<T extends Item, Body>(api: AdminItemsApi<T, Body>) {
  const admin = useAdminStore()
  const confirm = useConfirmStore()
  const notices = useNoticesStore()

  const items = ref([]) as Ref<T[]>
  const error = ref('')
  const done = ref('')
  const working = ref(false)
  /** The id of the item the form edits; null: the form makes a new one. */
  const editing = ref<string | null>(null)

  async function load(): Promise<void> {
    error.value = ''
    try {
      items.value = await api.list()
    } catch (err) {
      error.value = admin.describe(err)
    }
  }

  function reset(): void {
    editing.value = null
    api.resetForm()
  }

  /** Empties the form and marks it as editing ``item``: the page then fills in its fields. */
  function startEditing(item: T): void {
    reset()
    editing.value = item.id
  }

  async function save(body: Body): Promise<void> {
    working.value = true
    error.value = ''
    done.value = ''
    try {
      const saved = editing.value ? await api.update(editing.value, body) : await api.create(body)
      done.value = `Saved "${saved.name}".`
      notices.announce(done.value)
      reset()
      await load()
    } catch (err) {
      error.value = admin.describe(err)
    } finally {
      working.value = false
    }
  }

  async function remove(item: T): Promise<void> {
    const ok = await confirm.ask({
      title: `Delete "${item.name}"?`,
      message: api.removeMessage,
      confirmLabel: 'Delete',
      danger: true,
    })
    if (!ok) return
    error.value = ''
    try {
      await api.remove(item.id)
      done.value = `Deleted "${item.name}".`
      notices.announce(done.value)
      if (editing.value === item.id) reset()
      await load()
    } catch (err) {
      error.value = admin.describe(err)
    }
  }

  return { items, error, done, working, editing, load, reset, startEditing, save, remove }
}
