// A tiny app under test for features/apps.feature: an HTTP/XRPC service on Node's standard library.
//
// It binds the port atproto-bdd gives it (PORT), serves its DID document, and
// answers app.bsky.feed.getFeedSkeleton only with a service-auth JWT whose
// audience is its own DID and whose method is that query: the cursor tells who
// asked. It prints what it was configured with, so steps can check its log.
// The same file runs as a local process and, on the Docker runtime, inside the
// image docker/images/echo-app (the app echo-image).
'use strict'
const http = require('node:http')

const PORT = Number(process.env.PORT)
const DID = process.env.APP_DID || ''
const SKELETON = 'app.bsky.feed.getFeedSkeleton'

function claims(header) {
  // The payload of a Bearer JWT (the signature is the PDS's; this fixture only reads the claims).
  const payload = header.slice('Bearer '.length).trim().split('.')[1] || ''
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8') || '{}')
}

function reply(res, status, body) {
  const data = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) })
  res.end(data)
  console.log(`${res.req.method} ${res.req.url} -> ${status}`)
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname
  if (path === '/.well-known/did.json') {
    return reply(res, 200, { id: DID, service: [{ id: '#bsky_fg', type: 'BskyFeedGenerator', serviceEndpoint: `http://127.0.0.1:${PORT}` }] })
  }
  if (path === `/xrpc/${SKELETON}`) {
    const auth = req.headers.authorization || ''
    if (!auth.startsWith('Bearer ')) return reply(res, 401, { error: 'AuthRequired', message: 'service auth is required' })
    let seen
    try {
      seen = claims(auth)
    } catch (err) {
      return reply(res, 401, { error: 'BadJwt', message: String(err) })
    }
    if (seen.aud !== DID || seen.lxm !== SKELETON) {
      return reply(res, 401, { error: 'BadJwt', message: `aud ${seen.aud} lxm ${seen.lxm}` })
    }
    console.log(`skeleton for ${seen.iss}`)
    return reply(res, 200, { feed: [], cursor: seen.iss })
  }
  return reply(res, 404, { error: 'NotFound', message: path })
})

process.on('SIGTERM', () => process.exit(0))
server.listen(PORT, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${PORT} as ${DID}`)
  console.log(`firehose ${process.env.PDS_WS || '-'}`)
  if (process.env.GREETING) console.log(process.env.GREETING)
})
