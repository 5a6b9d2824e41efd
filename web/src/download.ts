// Saving a finished file: the server answers /api/downloads/{id}/file as an attachment, so an
// anchor with `download` makes the browser save it without leaving the page.

export function triggerFileDownload(url: string, doc: Document = document): void {
  const a = doc.createElement('a')
  a.href = url
  a.download = ''
  a.rel = 'noopener'
  a.hidden = true
  doc.body.appendChild(a)
  a.click()
  a.remove()
}
