// A lean AppView network with @atproto/dev-env 0.6 (the reference for bench_appview.py): TestPlc,
// TestBsync, TestBsky and a TestPds pointed at the AppView, as dev-env's TestNetwork.create() builds
// them (without ozone, which atproto-bdd does not run either), on a PostgreSQL server that already runs.
// Prints one JSON line when ready (loadMs, createMs); closes the network when stdin closes.
// Usage: node appview.js <postgres url> <schema>
'use strict'
const t0 = process.hrtime.bigint()
const ms = (from, to) => Number(to - from) / 1e6
const dist = require('node:path').dirname(require.resolve('@atproto/dev-env'))

async function main() {
  const [dbPostgresUrl, schema] = process.argv.slice(2)
  // The modules dev-env's network.js loads for these services, by path (0.6 exports only ".").
  const { TestPlc } = await import(`${dist}/plc.js`)
  const { TestBsync } = await import(`${dist}/bsync.js`)
  const { TestBsky } = await import(`${dist}/bsky.js`)
  const { TestPds } = await import(`${dist}/pds.js`)
  const { default: getPort } = await import(`${dist}/get-port.js`)
  const loaded = process.hrtime.bigint()
  const plc = await TestPlc.create({})
  const bsync = await TestBsync.create({ apiKeys: ['bsync-api-key'], dbUrl: dbPostgresUrl, dbSchema: `bsync_${schema}` })
  const pdsPort = await getPort()
  const bsky = await TestBsky.create({
    plcUrl: plc.url,
    pdsPort,
    bsyncApiKey: 'bsync-api-key',
    bsyncUrl: bsync.url,
    repoProvider: `ws://localhost:${pdsPort}`,
    dbPostgresSchema: `appview_${schema}`,
    dbPostgresUrl,
    redisHost: 'unused',
  })
  bsync.ctx.dataplaneClients = [bsky.ctx.dataplane]
  const pds = await TestPds.create({
    port: pdsPort,
    didPlcUrl: plc.url,
    bskyAppViewUrl: bsky.url,
    bskyAppViewDid: bsky.ctx.cfg.serverDid,
  })
  const created = process.hrtime.bigint()
  process.stdout.write(JSON.stringify({ ready: true, loadMs: ms(t0, loaded), createMs: ms(loaded, created) }) + '\n')
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await Promise.allSettled([pds.close(), bsky.close(), bsync.close(), plc.close()])
    process.exit(0)
  })
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})
