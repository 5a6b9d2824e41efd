// Links that arrive from outside: the installed app's share target and the bookmarklet both open
// /share?url=…&text=…&title=… (see GET /manifest.webmanifest). Phones often put the link in
// `text` ("Look at this https://…"), so every field is searched for the first http(s) link.

export const SHARE_PATH = '/share'

const LINK = /https?:\/\/[^\s<>"']+/i

export function isSharePath(path: string): boolean {
  return path.replace(/\/+$/, '') === SHARE_PATH
}

/** The shared link in a query string, or null when there is none. */
export function sharedLink(search: string): string | null {
  const params = new URLSearchParams(search)
  for (const name of ['url', 'text', 'title']) {
    const found = params.get(name)?.match(LINK)
    if (found) return found[0].replace(/[).,;!?]+$/, '')
  }
  return null
}

/** The bookmarklet for a server at `origin`: it only navigates (a new tab, or this one if
 * pop-ups are blocked), so it works on pages whose Content-Security-Policy forbids scripts
 * from elsewhere and requests to other servers. */
export function bookmarklet(origin: string): string {
  const target = JSON.stringify(`${origin}${SHARE_PATH}?url=`)
  return (
    'javascript:(()=>{const u=' +
    target +
    '+encodeURIComponent(location.href);' +
    "if(!window.open(u,'_blank'))location.href=u})()"
  )
}
