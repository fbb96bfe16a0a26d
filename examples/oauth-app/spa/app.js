// A single-page app that signs people in with AT Protocol OAuth in the browser
// (@atproto/oauth-client-browser 0.4.9) and writes a status record to their repository: the same pages as
// statusphere.mjs, but no server of its own takes part in OAuth - serve.mjs only bundles this file with
// esbuild and serves it.
//
// Against a test network the client needs the same three options as a Node app (the rest is as in
// production): handleResolver (a PDS URL: XRPC resolveHandle, no DNS for .test handles), plcDirectoryUrl
// (the network's PLC directory) and allowHttp (the PDS's OAuth endpoints are plain http on 127.0.0.1).
// serve.mjs passes them from its environment in window.SPA_CONFIG. It is a loopback client
// (client_id http://localhost?...), its redirect URI the page itself: http://127.0.0.1:PORT/.
import { BrowserOAuthClient, buildAtprotoLoopbackClientMetadata } from '@atproto/oauth-client-browser'

const SCOPE = 'atproto repo:xyz.statusphere.status'
const config = window.SPA_CONFIG

const client = new BrowserOAuthClient({
  clientMetadata: buildAtprotoLoopbackClientMetadata({ scope: SCOPE, redirect_uris: [`${location.origin}/`] }),
  handleResolver: config.handleResolver,
  plcDirectoryUrl: config.plcDirectoryUrl,
  allowHttp: true,
})

const main = document.querySelector('main')
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

async function xrpc(session, method, nsid, { params, body } = {}) {
  const query = params ? `?${new URLSearchParams(params)}` : ''
  const response = await session.fetchHandler(`/xrpc/${nsid}${query}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  })
  const data = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(`${nsid}: ${response.status} ${data.error || ''} ${data.message || ''}`)
  return data
}

function showSignIn(error) {
  main.innerHTML = `${error ? `<p>Sign-in failed: ${esc(error)}</p>` : ''}
<form id="login"><label for="handle">Handle</label> <input id="handle" name="handle">
<button type="submit">Sign in</button></form>`
  main.querySelector('#login').addEventListener('submit', async (event) => {
    event.preventDefault()
    const handle = new FormData(event.target).get('handle').trim()
    try {
      await client.signIn(handle, { scope: SCOPE }) // leaves for the PDS's pages; comes back to /
    } catch (err) {
      showSignIn(err.message || String(err))
    }
  })
}

async function showHome(session) {
  const me = await xrpc(session, 'GET', 'com.atproto.server.getSession')
  const list = await xrpc(session, 'GET', 'com.atproto.repo.listRecords', {
    params: { repo: session.did, collection: 'xyz.statusphere.status' },
  })
  const statuses = list.records.map((r) => `<li>${esc(r.value.status)}</li>`).join('')
  main.innerHTML = `<p>Signed in as ${esc(me.handle)}</p>
<form id="status-form"><label for="status">Status</label> <input id="status" name="status">
<button type="submit">Set status</button></form><ul>${statuses}</ul>
<button id="logout" type="button">Sign out</button>`
  main.querySelector('#status-form').addEventListener('submit', async (event) => {
    event.preventDefault()
    const status = new FormData(event.target).get('status')
    const record = { $type: 'xyz.statusphere.status', status, createdAt: new Date().toISOString() }
    await xrpc(session, 'POST', 'com.atproto.repo.createRecord', {
      body: { repo: session.did, collection: 'xyz.statusphere.status', record },
    })
    await showHome(session)
  })
  main.querySelector('#logout').addEventListener('click', async () => {
    await session.signOut()
    showSignIn()
  })
}

try {
  // init() finishes a sign-in the PDS sent back here (its parameters in the URL), or restores a session.
  const result = await client.init()
  if (result) await showHome(result.session)
  else showSignIn()
} catch (err) {
  showSignIn(err.message || String(err))
}
