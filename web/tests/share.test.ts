import { describe, expect, it } from 'vitest'
import { bookmarklet, isSharePath, sharedLink } from '../src/share'

describe('shared links', () => {
  it('takes the url field first, then a link inside text or title', () => {
    expect(sharedLink('?url=https%3A%2F%2Fa.example%2Fv%3Fx%3D1')).toBe('https://a.example/v?x=1')
    expect(sharedLink('?text=Look+at+this+https%3A%2F%2Fb.example%2Fw.')).toBe('https://b.example/w')
    expect(sharedLink('?title=t&text=no+link')).toBeNull()
    expect(isSharePath('/share')).toBe(true)
    expect(isSharePath('/shared')).toBe(false)
  })

  it('makes a bookmarklet that only navigates to this server', () => {
    const code = bookmarklet('http://media.lan:8000')
    expect(code.startsWith('javascript:')).toBe(true)
    expect(code).toContain('"http://media.lan:8000/share?url="')
    expect(code).toContain('encodeURIComponent(location.href)')
    expect(code).not.toContain('fetch')
  })
})
