// The 50-scenario comparison, written against @atproto/dev-env: each scenario
// gets its own TestNetworkNoAppView (PLC + PDS), creates 2 accounts and 3
// posts, waits for the posts' commit on the PDS firehose, and awaits
// network.close() before the next scenario starts.
// Usage: node scenarios.js <count> [pds|full]
//   pds (default) requires only dev-env's network-no-appview module (PDS and PLC, no bsky/ozone);
//   full requires the whole package.
// Prints {"scenarios": n, "ms": total, "loadMs", "scenarioMs": [...], "closeMs": [...]} at the end;
// each scenarioMs includes its close, closeMs is the close alone.
'use strict'
const t0 = process.hrtime.bigint()
const mode = process.argv[3] || 'pds'
const ms = (from, to) => Number(to - from) / 1e6
// By path: dev-env 0.6 exports only its main module ("exports": {".": ...}).
const devEnvDist = require('node:path').dirname(require.resolve('@atproto/dev-env'))
const { TestNetworkNoAppView } =
  mode === 'full' ? require('@atproto/dev-env') : require(`${devEnvDist}/network-no-appview`)
const { Frame } = require('@atproto/xrpc-server')
const WebSocket = require('ws')
const loaded = process.hrtime.bigint()

async function scenario(index, closeTimes) {
  const network = await TestNetworkNoAppView.create({})
  try {
    // An AtpAgent on both lines: dev-env 0.3 names it getClient(), 0.6 getAgent() (its getClient() is the new lex Client).
    const agent = network.pds.getAgent ? network.pds.getAgent() : network.pds.getClient()
    const accounts = []
    for (const name of ['alice', 'bob']) {
      const res = await agent.com.atproto.server.createAccount({
        handle: `${name}${index}.test`,
        email: `${name}${index}@example.com`,
        password: 'hunter2-password',
      })
      accounts.push(res.data)
    }
    const alice = accounts[0]
    const headers = { authorization: `Bearer ${alice.accessJwt}` }
    for (let i = 0; i < 3; i++) {
      await agent.com.atproto.repo.createRecord(
        {
          repo: alice.did,
          collection: 'app.bsky.feed.post',
          record: { $type: 'app.bsky.feed.post', text: `post ${i}`, createdAt: new Date().toISOString() },
        },
        { headers, encoding: 'application/json' },
      )
    }
    await new Promise((resolve, reject) => {
      const url = network.pds.url.replace('http', 'ws') + '/xrpc/com.atproto.sync.subscribeRepos?cursor=0'
      const socket = new WebSocket(url)
      const timer = setTimeout(() => reject(new Error('no commit on the firehose')), 10000)
      socket.on('message', (data) => {
        const frame = Frame.fromBytes(new Uint8Array(data))
        const body = frame.body || {}
        const ops = body.ops || []
        if (frame.header.t === '#commit' && body.repo === alice.did && ops.some((op) => op.action === 'create')) {
          clearTimeout(timer)
          socket.close()
          resolve()
        }
      })
      socket.on('error', reject)
    })
  } finally {
    const closing = process.hrtime.bigint()
    await network.close()
    closeTimes.push(ms(closing, process.hrtime.bigint()))
  }
}

async function main() {
  const count = Number(process.argv[2] || 50)
  const scenarioMs = []
  const closeMs = []
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint()
    await scenario(i, closeMs)
    scenarioMs.push(ms(started, process.hrtime.bigint()))
  }
  const total = ms(t0, process.hrtime.bigint())
  process.stdout.write(
    JSON.stringify({ scenarios: count, mode, ms: total, loadMs: ms(t0, loaded), scenarioMs, closeMs }) + '\n',
  )
  process.exit(0)
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})
