import { getCurrentScope, onScopeDispose, ref, type Ref } from 'vue'

/** A ref that follows a CSS media query. */
export function useMediaQuery(query: string): Ref<boolean> {
  const mql = typeof globalThis.matchMedia === 'function' ? globalThis.matchMedia(query) : undefined
  const matches = ref(mql?.matches ?? false)
  const onChange = (e: MediaQueryListEvent): void => {
    matches.value = e.matches
  }
  mql?.addEventListener('change', onChange)
  if (getCurrentScope()) onScopeDispose(() => mql?.removeEventListener('change', onChange))
  return matches
}
