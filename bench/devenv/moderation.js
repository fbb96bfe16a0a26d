// Moderation on @atproto/dev-env 0.6 (the reference for bench_ozone.py): TestNetwork.create() (PLC, a PDS,
// bsync, the AppView and Ozone with its service account moved to the PDS), in one process, then the same
// work bench_ozone.py does on atproto-bdd: three accounts, carol on Ozone's team (tools.ozone.team.addMember
// with the admin password), alice posts, bob reports the post through his PDS (atproto-proxy to Ozone),
// carol takes alice's account down through her PDS. Timed: the network's creation, report -> the subject
// in queryStatuses, takedown -> the AppView answers AccountTakedown for alice's profile (through bob's PDS);
// both polled every 2 ms. (A post takedown is not timed: the open-source AppView applies no label without
// a bridge, which dev-env does not have, so there it never hides the post.)
// Prints {"loadMs"} once loaded, then runs a round for each line it reads on stdin and prints its JSON line
// (the caller interleaves them with its own). Usage: node moderation.js <postgres url>
'use strict'
const ms = (from, to) => Number(to - from) / 1e6
const now = () => process.hrtime.bigint()
const dist = require('node:path').dirname(require.resolve('@atproto/dev-env'))
const POLL_MS = 2

async function xrpc(base, nsid, { method = 'GET', params, body, headers = {} } = {}) {
  const url = new URL(`/xrpc/${nsid}`, base)
  for (const [key, value] of Object.entries(params || {})) url.searchParams.set(key, value)
  const response = await fetch(url, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : {} }
}

async function until(look, deadlineMs = 10000) {
  const started = now()
  for (;;) {
    if (await look()) return ms(started, now())
    if (ms(started, now()) > deadlineMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

async function round(TestNetwork, dbPostgresUrl, index) {
  const began = now()
  // Letters only (bsync's rule); a schema per network, as dev-env's own tests name them.
  const schema = `bench_ozone_${[...String(index)].map((d) => 'abcdefghij'[Number(d)]).join('')}`
  const network = await TestNetwork.create({ dbPostgresUrl, dbPostgresSchema: schema })
  const createMs = ms(began, now())
  const pds = network.pds.url
  const ozone = network.ozone.url
  const admin = { authorization: 'Basic ' + Buffer.from('admin:admin-pass').toString('base64') }
  const proxy = `${network.ozone.ctx.cfg.service.did}#atproto_labeler`
  const accounts = {}
  for (const name of ['alice', 'bob', 'carol']) {
    const made = await xrpc(pds, 'com.atproto.server.createAccount', {
      method: 'POST',
      body: { handle: `${name}.test`, email: `${name}@mail.test`, password: 'hunter2-bench' },
    })
    accounts[name] = { did: made.body.did, auth: { authorization: `Bearer ${made.body.accessJwt}` } }
  }
  const { alice, bob, carol } = accounts
  await xrpc(ozone, 'tools.ozone.team.addMember', {
    method: 'POST',
    body: { did: carol.did, role: 'tools.ozone.team.defs#roleAdmin' },
    headers: admin,
  })
  const post = await xrpc(pds, 'com.atproto.repo.createRecord', {
    method: 'POST',
    body: { repo: alice.did, collection: 'app.bsky.feed.post', record: { text: 'spam', createdAt: new Date().toISOString() } },
    headers: alice.auth,
  })
  await network.processAll()
  const reportSent = now()
  const reported = await xrpc(pds, 'com.atproto.moderation.createReport', {
    method: 'POST',
    body: {
      reasonType: 'com.atproto.moderation.defs#reasonSpam',
      subject: { $type: 'com.atproto.repo.strongRef', uri: post.body.uri, cid: post.body.cid },
    },
    headers: { ...bob.auth, 'atproto-proxy': proxy },
  })
  if (reported.status !== 200) throw new Error(`report: ${JSON.stringify(reported)}`)
  await until(async () => {
    const answer = await xrpc(ozone, 'tools.ozone.moderation.queryStatuses', { params: { subject: post.body.uri }, headers: admin })
    return (answer.body.subjectStatuses || []).length > 0
  })
  const reportMs = ms(reportSent, now())
  const takedownSent = now()
  const takedown = await xrpc(pds, 'tools.ozone.moderation.emitEvent', {
    method: 'POST',
    body: {
      event: { $type: 'tools.ozone.moderation.defs#modEventTakedown' },
      subject: { $type: 'com.atproto.admin.defs#repoRef', did: alice.did },
      createdBy: carol.did,
    },
    headers: { ...carol.auth, 'atproto-proxy': proxy },
  })
  if (takedown.status !== 200) throw new Error(`takedown: ${JSON.stringify(takedown)}`)
  await until(async () => {
    const answer = await xrpc(pds, 'app.bsky.actor.getProfile', { params: { actor: alice.did }, headers: bob.auth })
    return answer.body.error === 'AccountTakedown'
  })
  const takedownMs = ms(takedownSent, now())
  const closing = now()
  await network.close()
  return { createMs, reportMs, takedownMs, closeMs: ms(closing, now()) }
}

async function main() {
  const [dbPostgresUrl] = process.argv.slice(2)
  process.env.REDIS_HOST = process.env.REDIS_HOST || 'unused' // dev-env asserts it; nothing connects to it
  const t0 = now()
  const { TestNetwork } = await import(`${dist}/network.js`)
  process.stdout.write(JSON.stringify({ loadMs: ms(t0, now()) }) + '\n')
  let index = 0
  const lines = require('node:readline').createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (!line.trim()) continue
    process.stdout.write(JSON.stringify(await round(TestNetwork, dbPostgresUrl, index++)) + '\n')
  }
  process.exit(0)
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})
