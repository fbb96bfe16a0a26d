// The 50-scenario comparison, written against @atproto/dev-env: each scenario
// gets its own TestNetworkNoAppView (PLC + PDS), creates 2 accounts and 3
// posts, and waits for the posts' commit on the PDS firehose.
// Usage: node scenarios.js <count>   prints {"scenarios": n, "ms": total} at the end.
'use strict'
const started = Date.now()
const { TestNetworkNoAppView } = require('@atproto/dev-env')
const { Frame } = require('@atproto/xrpc-server')
const WebSocket = require('ws')

async function scenario(index) {
  const network = await TestNetworkNoAppView.create({})
  try {
    const agent = network.pds.getClient()
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
    await network.close()
  }
}

async function main() {
  const count = Number(process.argv[2] || 50)
  for (let i = 0; i < count; i++) await scenario(i)
  process.stdout.write(JSON.stringify({ scenarios: count, ms: Date.now() - started }) + '\n')
  process.exit(0)
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})
