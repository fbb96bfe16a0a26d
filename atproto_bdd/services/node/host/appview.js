'use strict'
// Bluesky AppViews as dev-env runs one (packages/dev-env/src/bsky.ts): a dataplane on the network's
// Postgres database, bsync, the API server, and one repo subscription per PDS (or the relay).

const http = require('node:http')
const { attachAccessLog, quietly } = require('./services')
const { freePort, onFreePort } = require('./net')
const { migrateOzone } = require('./ozone')

// How often appview.waitIndexed looks at the subscriptions' cursors (reading them costs nothing).
const CURSOR_LOOK_MS = 2

// bsync keeps mutes and notification state for the AppView (dev-env's TestBsync), in the same database.
async function createBsync(packages, { dbUrl, port, apiKey }) {
  const bsync = await packages.import('@atproto/bsync')
  const config = bsync.envToCfg({ port, apiKeys: [apiKey], dbUrl, dbSchema: 'bsync', dbPoolSize: 5 })
  return bsync.BsyncService.create(config)
}

// The latest operation of each bsync stream, for the AppView's bsync subscription to catch up to.
async function bsyncHeads(service) {
  const db = service.ctx.db.db
  const max = async (table) => {
    const row = await db.selectFrom(table).select((eb) => eb.fn.max('id').as('id')).executeTakeFirst()
    return row?.id != null ? String(row.id) : undefined
  }
  const [op, mute, notif] = await Promise.all([max('operation'), max('mute_op'), max('notif_op')])
  return { op, mute, notif }
}

// Where each repo subscription has got to (the PDS or relay sequence number it processed).
function appviewCursors({ subs }) {
  return Object.fromEntries([...subs.entries()].map(([source, sub]) => [source, sub.getCursor() ?? 0]))
}

async function processAppview({ subs, bsyncSub, bsyncService }) {
  await Promise.all([...subs.values()].map((sub) => sub.processAll()))
  await bsyncSub.processAll(await bsyncHeads(bsyncService))
}

// How an AppView resolves a handle to a DID. In production: DNS (TXT `_atproto.<handle>`) or HTTPS
// (`https://<handle>/.well-known/atproto-did`). The test network has no DNS names, and its PDSes serve plain
// HTTP on loopback: left as it was, every handle failed to resolve (the AppView showed `handle.invalid` and
// found no profile by handle), after DNS queries that left the machine. Here every PDS the AppView indexes
// (its sources, ws:// URLs) is asked at its real /.well-known/atproto-did with the handle as Host, which is
// where the HTTPS method would reach it (dev-env's mockResolvers does the same); the PDS answers with the DID
// for a handle it hosts. A handle no PDS hosts does not resolve.
function pdsHandleResolver(sources) {
  const ask = (source, handle) =>
    new Promise((resolve) => {
      const url = new URL('/.well-known/atproto-did', source.replace(/^ws:/, 'http:'))
      if (url.protocol !== 'http:') return resolve(undefined) // a source of ours is always ws:// on loopback
      const request = http.get(url, { headers: { host: handle }, timeout: 5000 }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => (body += chunk))
        res.on('end', () => resolve(res.statusCode === 200 && body.trim().startsWith('did:') ? body.trim() : undefined))
        res.on('error', () => resolve(undefined))
      })
      request.on('timeout', () => request.destroy())
      request.on('error', () => resolve(undefined))
    })
  return async (handle) => {
    const found = await Promise.all([...sources()].map((source) => ask(source, handle)))
    return found.find((did) => did !== undefined)
  }
}

// The AppView's server configuration (dev-env's, with our network's URLs and DIDs).
function serverConfig(bsky, args, { port, url, dataplanePort, bsyncPort, bsyncKey }) {
  return new bsky.ServerConfig({
    version: 'atproto-bdd',
    port,
    didPlcUrl: args.plcUrl,
    publicUrl: url,
    serverDid: args.did,
    alternateAudienceDids: [],
    dataplaneUrls: [`http://localhost:${dataplanePort}`],
    dataplaneHttpVersion: '1.1',
    bsyncUrl: `http://localhost:${bsyncPort}`,
    bsyncHttpVersion: '1.1',
    bsyncApiKey: bsyncKey,
    // The network's Ozone, if it has one: its admin calls (takedowns) are accepted, and its labels apply to
    // every request that names no labelers (atproto-accept-labelers), as Bluesky's own moderation does.
    modServiceDid: args.modServiceDid || 'did:example:invalidMod',
    labelsFromIssuerDids: args.labelers || [],
    bigThreadUris: new Set(),
    maxThreadParents: 50,
    disableSsrfProtection: true, // feed generators and labelers of the network live on loopback
    searchTagsHide: new Set(),
    searchTagsHideAll: new Set(),
    threadTagsBumpDown: new Set(),
    threadTagsHide: new Set(),
    visibilityTagHide: '',
    visibilityTagRankPrefix: '',
    debugFieldAllowedDids: new Set(),
    draftsLimit: 500,
    feedGenSkeletonTimeout: 5000,
    adminPasswords: [args.adminPassword],
    etcdHosts: [],
  })
}

function appviewCommands({ packages, services }) {
  async function migrate(args) {
    const bsky = await packages.import('@atproto/bsky')
    const db = new bsky.Database({ url: args.dbUrl, schema: 'bsky' })
    try {
      await db.migrateToLatestOrThrow()
    } finally {
      await db.close()
    }
    const bsync = await createBsync(packages, { dbUrl: args.dbUrl, port: 0, apiKey: 'migrations' })
    try {
      await bsync.ctx.db.migrateToLatestOrThrow()
    } finally {
      await bsync.ctx.db.close() // never started: nothing else to stop
    }
    await migrateOzone(packages, args.dbUrl) // a network's Ozone shares its AppView's database
    return {}
  }

  async function start(args) {
    const bsky = await packages.import('@atproto/bsky')
    const { Secp256k1Keypair } = await packages.import('@atproto/crypto')
    const { id, log } = services.begin('appview', args.id) // args.id: a restart, under the same id and log
    const signingKey = await Secp256k1Keypair.import(args.keyHex)
    const db = new bsky.Database({ url: args.dbUrl, schema: args.schema || 'bsky', poolSize: 10 })
    const dataplanePort = await freePort()
    // The PLC directory is on loopback: resolve with the plain fetch, not the SSRF-safe one.
    const dataplane = await bsky.DataPlaneServer.create(db, dataplanePort, args.plcUrl, globalThis.fetch)
    const bsyncPort = await freePort()
    const bsyncKey = args.adminPassword
    const bsyncService = await createBsync(packages, { dbUrl: args.dbUrl, port: bsyncPort, apiKey: bsyncKey })
    await bsyncService.start()
    // The caller (services/appview.py) names the port: the AppView's DID document, published before it
    // starts, holds its URL, so a retry on another port is the caller's, with a new DID document.
    const startOn = async (port) => {
      const url = `http://localhost:${port}`
      const config = serverConfig(bsky, args, { port, url, dataplanePort, bsyncPort, bsyncKey })
      const server = bsky.BskyAppView.create({ config, signingKey })
      try {
        await server.start()
      } catch (err) {
        await quietly(() => server.destroy())
        throw err
      }
      return { server, config, url }
    }
    let started
    try {
      started = await onFreePort(args.port, startOn, { log })
    } catch (err) {
      await quietly(() => dataplane.destroy())
      await quietly(() => bsyncService.destroy())
      await quietly(() => db.close())
      await log.close()
      throw err
    }
    const { server, config, url } = started
    attachAccessLog(server.server, log)
    bsyncService.ctx.dataplaneClients = [server.ctx.dataplane]
    const bsyncSub = new bsky.BsyncSubscription({ config, db })
    bsyncSub.start()
    const subs = new Map()
    const subscribe = (service) => {
      if (subs.has(service)) return
      const sub = new bsky.RepoSubscription({ service, db, idResolver: dataplane.idResolver })
      subs.set(service, sub)
      void sub.start()
      log.line(`indexing ${service}`)
    }
    for (const service of args.subscribe || []) subscribe(service)
    const resolveHandle = pdsHandleResolver(() => subs.keys())
    dataplane.idResolver.handle.resolve = resolveHandle // indexing (an actor's handle) and the dataplane's lookups
    server.ctx.idResolver.handle.resolve = resolveHandle // the API's own
    log.line(`AppView ${args.name} listening on ${url} as ${args.did}`)
    const stop = async () => {
      server.server?.closeAllConnections?.()
      await Promise.allSettled([...subs.values()].map((sub) => sub.destroy()))
      await quietly(() => bsyncSub.destroy())
      await quietly(() => server.destroy())
      await quietly(() => bsyncService.destroy())
      await quietly(() => dataplane.destroy())
      await quietly(() => db.close())
      await log.close()
    }
    // What a restart starts with again: the same id, port (its DID document names the URL) and database.
    const again = { ...args, id, port: config.port }
    services.add(id, { kind: 'appview', name: args.name, url, stop, log, subs, subscribe, bsyncSub, bsyncService, again, db })
    return { id, url, port: config.port, log: log.file }
  }

  // Stops AppView ``args.id`` (its server, subscriptions, dataplane and bsync; the database stays) and starts
  // it again on the same port and database, indexing the same sources. Its subscriptions keep their cursors
  // in memory (bsky's MemoryRunner), so they read each source again from 0: indexing is idempotent.
  async function restart(args) {
    const appview = services.of(args.id, 'appview')
    const again = { ...appview.again, subscribe: [...appview.subs.keys()] }
    await services.stop(args.id)
    return start(again)
  }

  // Waits (at most args.timeoutMs) until each source's cursor reaches its head in args.heads, then
  // until what was read is indexed (dev-env's processAll()). Looking here every few ms, rather than
  // from Python, notices the AppView's progress at once instead of a poll interval later.
  async function waitIndexed(args) {
    const appview = services.of(args.id, 'appview')
    // performance.now(): monotonic and sub-millisecond; Date.now() truncates to the ms and could end
    // the wait up to 1 ms before the timeout the caller measured.
    const deadline = performance.now() + args.timeoutMs
    const behind = () => {
      const cursors = appviewCursors(appview)
      return Object.entries(args.heads).some(([source, head]) => (cursors[source] ?? 0) < head)
    }
    while (behind()) {
      if (performance.now() >= deadline) return { caughtUp: false, cursors: appviewCursors(appview) }
      await new Promise((resolve) => setTimeout(resolve, CURSOR_LOOK_MS))
    }
    await processAppview(appview)
    return { caughtUp: true, cursors: appviewCursors(appview) }
  }

  return {
    'appview.migrate': migrate,
    'appview.start': start,
    'appview.restart': restart,
    'appview.subscribe': async (args) => {
      services.of(args.id, 'appview').subscribe(args.service)
      return {}
    },
    // Where each repo subscription has got to (the PDS or relay sequence number it processed).
    'appview.cursors': async (args) => ({ cursors: appviewCursors(services.of(args.id, 'appview')) }),
    'appview.waitIndexed': waitIndexed,
  }
}

module.exports = { appviewCommands }
