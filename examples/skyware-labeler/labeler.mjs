// A labeler built on @skyware/labeler 0.2.0 - the app under test.
//
// It reads the PDS's firehose (com.atproto.sync.subscribeRepos), asks the PDS for each new post
// (com.atproto.repo.getRecord) and labels the posts that mention "spam" with `spam` through
// LabelerServer.createLabel, which signs the label and stores it in SQLite. LabelerServer serves
// com.atproto.label.queryLabels and com.atproto.label.subscribeLabels as every skyware labeler does
// (its labels carry the library's own `id` field beside the lexicon's fields). GET /cursor says how
// far it has read the firehose, so "does not label" checks can wait for it.
import { readFileSync, writeFileSync } from 'node:fs'
import { setImmediate as tick } from 'node:timers/promises'

import { decodeFirst } from '@atcute/cbor'
import { LabelerServer } from '@skyware/labeler'
import WebSocket from 'ws'

const env = (name) => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set (see atproto-bdd.toml)`)
  return value
}
const PORT = Number(env('LABELER_PORT'))
const PDS = env('LABELER_PDS')
const CURSOR_FILE = `${env('LABELER_DB')}.cursor`

const server = new LabelerServer({ did: env('LABELER_DID'), signingKey: env('LABELER_SIGNING_KEY'), dbPath: env('LABELER_DB') })

// The firehose position, kept beside the database so that a restart goes on where it stopped.
let cursor = 0
try {
  cursor = Number(readFileSync(CURSOR_FILE, 'utf8')) || 0
} catch {}
// LabelerServer adds its routes once its websocket plugin has loaded (register().then(...) in its
// constructor); a route or hook added before that leaves Fastify waiting forever (the process then exits
// with nothing to do). So /cursor joins once the library's own routes are there.
while (!server.app.hasRoute({ method: 'GET', url: '/xrpc/_health' })) await tick()
server.app.get('/cursor', async () => ({ cursor }))

async function textOf(repo, rkey) {
  const url = `${PDS}/xrpc/com.atproto.repo.getRecord?repo=${repo}&collection=app.bsky.feed.post&rkey=${rkey}`
  const response = await fetch(url)
  if (!response.ok) return '' // deleted meanwhile
  const { value } = await response.json()
  return typeof value?.text === 'string' ? value.text : ''
}

async function handle(frame) {
  const [header, rest] = decodeFirst(frame)
  const [body] = decodeFirst(rest)
  if (header.op !== 1) throw new Error(`the firehose sent an error frame: ${JSON.stringify(body)}`)
  if (header.t === '#commit') {
    for (const op of body.ops) {
      if (op.action !== 'create' || !op.path.startsWith('app.bsky.feed.post/')) continue
      const rkey = op.path.split('/')[1]
      if (!/\bspam\b/i.test(await textOf(body.repo, rkey))) continue
      const uri = `at://${body.repo}/${op.path}`
      await server.createLabel({ uri, cid: op.cid.$link, val: 'spam' })
      console.log(`labelled ${uri} with spam`)
    }
  }
  if (typeof body.seq === 'number') {
    cursor = body.seq
    writeFileSync(CURSOR_FILE, String(cursor))
  }
}

function subscribe() {
  const socket = new WebSocket(`${env('LABELER_FIREHOSE')}/xrpc/com.atproto.sync.subscribeRepos?cursor=${cursor}`)
  let queue = Promise.resolve() // one frame at a time, in order
  socket.on('message', (data) => {
    queue = queue.then(() => handle(new Uint8Array(data))).catch((error) => {
      console.error('firehose frame failed:', error)
      process.exit(1)
    })
  })
  socket.on('close', () => setTimeout(subscribe, 500))
  socket.on('error', (error) => console.error('firehose:', error.message))
}

server.start({ port: PORT, host: '127.0.0.1' }, (error, address) => {
  if (error) {
    console.error(error)
    process.exit(1)
  }
  console.log(`labeler ${server.did} listening on ${address}`)
  subscribe()
})
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.stop(() => process.exit(0)))
