'use strict'
// The atproto-bdd network host: one long-lived Node process per test run that
// runs real @did-plc/server and @atproto/pds instances in-process, so a fresh
// PDS costs milliseconds instead of a Node start-up.
//
// Protocol: one JSON request per line on stdin
//   {"id": 1, "cmd": "pds.start", "args": {...}}
// one JSON reply per line on the control fd (3), because the services' own
// loggers may write to stdout:
//   {"id": 1, "ok": true, "result": {...}} | {"id": 1, "ok": false, "error": {...}}
// The host exits, stopping every service, when stdin closes (the parent died
// or closed it), when its parent process changes, or on SIGTERM/SIGINT.

const fs = require('node:fs')
const path = require('node:path')
const http = require('node:http')
const net = require('node:net')
const readline = require('node:readline')
const { once } = require('node:events')
const { createRequire } = require('node:module')

const CONTROL_FD = Number(process.env.ATPROTO_BDD_CONTROL_FD || 3)
const RUN_DIR = process.env.ATPROTO_BDD_RUN_DIR
const NODE_MODULES = process.env.ATPROTO_BDD_NODE_MODULES
const REMOVE_RUN_DIR = process.env.ATPROTO_BDD_REMOVE_RUN_DIR === '1'
// More directories to remove on exit (the AppView host: PostgreSQL's data, which lives outside the run directory).
const REMOVE_ALSO = (process.env.ATPROTO_BDD_REMOVE_ALSO || '').split(path.delimiter).filter(Boolean)
// "network": PLC directories and PDSes (the default); "appview": Bluesky AppViews (@atproto/bsky),
// which need Node.js 22 and their own node_modules, so they run in a second host.
const ROLE = process.env.ATPROTO_BDD_HOST_ROLE || 'network'
const LOG_DIR = RUN_DIR ? path.join(RUN_DIR, 'logs') : null

if (!NODE_MODULES || !RUN_DIR) {
  process.stderr.write('host.js needs ATPROTO_BDD_NODE_MODULES and ATPROTO_BDD_RUN_DIR\n')
  process.exit(2)
}
fs.mkdirSync(LOG_DIR, { recursive: true })

// The memo of module resolution, the V8 code cache and the sources of the services' modules
// (load_cache.js), kept beside the install; empty when turned off (node_host.py decides).
const LOAD_CACHE_DIR = process.env.ATPROTO_BDD_LOAD_CACHE_DIR
const loadCache = (() => {
  if (!LOAD_CACHE_DIR) return null
  const { installLoadCache, cacheFileName } = require('./load_cache')
  // The 0.5 line's PDS and the AppView are ES modules, whose resolution the cache memoizes too.
  const main = ROLE === 'appview' ? '@atproto/bsky' : '@atproto/pds'
  let esm = false
  try {
    esm = JSON.parse(fs.readFileSync(path.join(NODE_MODULES, main, 'package.json'), 'utf8')).type === 'module'
  } catch {} // not installed: the load fails later, with Node.js's own message
  return installLoadCache(NODE_MODULES, path.join(LOAD_CACHE_DIR, cacheFileName()), { esm })
})()
let loadCacheLearned = false

const requireDep = createRequire(path.join(NODE_MODULES, 'noop.js'))
let pdsLib = null
let plcLib = null
const loadPds = () => (pdsLib = pdsLib || requireDep('@atproto/pds'))
const loadPlc = () => (plcLib = plcLib || requireDep('@did-plc/server'))
let bskyLib = null
let bsyncLib = null
let cryptoLib = null
// @atproto/bsky is an ES module: import it by path (its package "exports" allow only ".").
const { pathToFileURL } = require('node:url')
const loadBsky = async () => (bskyLib = bskyLib || (await import(pathToFileURL(requireDep.resolve('@atproto/bsky')).href)))
const loadBsync = async () =>
  (bsyncLib = bsyncLib || (await import(pathToFileURL(requireDep.resolve('@atproto/bsync')).href)))
const loadCrypto = async () =>
  (cryptoLib = cryptoLib || (await import(pathToFileURL(requireDep.resolve('@atproto/crypto')).href)))

if (ROLE === 'appview') {
  // The AppView's servers (its API and its dataplane) call listen(port) without a host, which
  // binds every interface: in this host, a listen without a host binds 127.0.0.1.
  const listen = net.Server.prototype.listen
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
    return listen.apply(this, args)
  }
}

const services = new Map() // id -> { kind, name, url, stop: async () => void, log, subscribers? }
let nextServiceId = 1
const KIND_NAMES = { plc: 'PLC directory', pds: 'PDS', appview: 'AppView' }

// The running service ``id``, which must be of ``kind`` ("plc", "pds", "appview").
function serviceOf(id, kind) {
  const service = services.get(id)
  if (!service || service.kind !== kind) throw new Error(`no ${KIND_NAMES[kind]} ${id}`)
  return service
}
let shuttingDown = false

function reply(message) {
  fs.writeSync(CONTROL_FD, JSON.stringify(message) + '\n')
}

function openLog(id) {
  const file = path.join(LOG_DIR, `${id}.log`)
  const stream = fs.createWriteStream(file, { flags: 'a' })
  stream.on('error', () => {}) // a full disk must not kill the host
  return {
    file,
    line: (text) => stream.write(`${new Date().toISOString()} ${text}\n`),
    close: () => new Promise((resolve) => stream.end(resolve)),
  }
}

// Per-service access log: the PDS's own pino logger is process-wide, so this
// is what tells one instance's traffic from another's. Open websocket
// subscriptions are tracked too, so callers can wait for a subscriber.
function attachAccessLog(server, log, subscribers) {
  const upgraded = new Set() // websocket sockets: closeAllConnections() does not close them
  server.atprotoBddUpgraded = upgraded
  server.on('request', (req, res) => {
    const started = process.hrtime.bigint()
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      log.line(`${req.method} ${req.url} -> ${res.statusCode} (${ms.toFixed(1)} ms)`)
    })
  })
  server.on('upgrade', (req, socket) => {
    const agent = req.headers['user-agent'] || ''
    log.line(`UPGRADE ${req.url} (${agent})`)
    upgraded.add(socket)
    socket.once('close', () => upgraded.delete(socket))
    if (!subscribers) return
    subscribers.add(agent)
    socket.once('close', () => {
      subscribers.delete(agent)
      log.line(`CLOSED ${req.url} (${agent})`)
    })
  })
}

async function freePort() {
  const probe = net.createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address()
  probe.close()
  await once(probe, 'close')
  return port
}

// A clean-up call while another error is being reported: it may return a promise or nothing (some close()
// methods are synchronous), and whatever it throws is dropped so that the first error is the one reported.
async function quietly(call) {
  try {
    await call()
  } catch {}
}

function isAddrInUse(err) {
  return err && (err.code === 'EADDRINUSE' || /EADDRINUSE/.test(String(err.message)))
}

async function startPlc(args) {
  const plc = loadPlc()
  const id = `plc-${nextServiceId++}`
  const log = openLog(id)
  const db = plc.Database.mock()
  if (args.snapshot) db.contents = cloneOperations(snapshotOf(args.snapshot).plc) // a copy: this one will change
  const server = plc.PlcServer.create({ db, port: 0, version: 'atproto-bdd' })
  const httpServer = http.createServer(server.app)
  attachAccessLog(httpServer, log)
  httpServer.listen(args.port || 0, '127.0.0.1')
  await once(httpServer, 'listening')
  const port = httpServer.address().port
  const url = `http://127.0.0.1:${port}`
  log.line(`PLC directory listening on ${url}`)
  const stop = async () => {
    httpServer.closeAllConnections()
    await new Promise((resolve) => httpServer.close(() => resolve()))
    await log.close()
  }
  services.set(id, { kind: 'plc', name: args.name || 'plc', url, stop, log, db })
  return { id, url, port, log: log.file }
}

// -- Background snapshots: a network's state copied once, restored for each scenario ------------------
// The in-memory PLC's operations (its mock database keeps them per DID, in `contents`) are kept here;
// each PDS's data directory is copied to a directory the caller names, and a restored PDS starts on a
// copy of it, on the same port (the DID documents in the PLC name that URL), with the same secrets.
const snapshots = new Map() // id -> { plc: contents, dirs: [snapshot directories] }
let nextSnapshotId = 1

function cloneOperations(contents) {
  // Each operation is a new entry in its DID's list; only `nullified` is ever changed in place.
  return Object.fromEntries(Object.entries(contents).map(([did, ops]) => [did, ops.map((op) => ({ ...op }))]))
}

function snapshotOf(id) {
  const snapshot = snapshots.get(id)
  if (!snapshot) throw new Error(`no snapshot ${id}`)
  return snapshot
}

// SQLite's shared-memory index (-shm) is left out: a copy opened later rebuilds it from the WAL file,
// which holds every committed transaction.
const copyData = (from, to) => fs.cpSync(from, to, { recursive: true, filter: (source) => !source.endsWith('-shm') })

async function takeSnapshot(args) {
  const plc = serviceOf(args.plc, 'plc')
  const pdses = args.pdses.map(({ id, dir }) => ({ service: serviceOf(id, 'pds'), dir }))
  // Work the PDSes queued after answering (none of it may land after the copy) is done first; the
  // requests that wrote the state were all answered, and their transactions committed, before this.
  await Promise.all(pdses.map(({ service }) => service.instance.ctx.backgroundQueue.processAll()))
  for (const { service, dir } of pdses) copyData(service.dataDir, dir)
  const id = `snapshot-${nextSnapshotId++}`
  snapshots.set(id, { plc: cloneOperations(plc.db.contents), dirs: pdses.map(({ dir }) => dir) })
  return { id }
}

async function dropSnapshot(args) {
  const snapshot = snapshots.get(args.id)
  snapshots.delete(args.id)
  for (const dir of snapshot ? snapshot.dirs : []) fs.rmSync(dir, { recursive: true, force: true })
  return {}
}

// The PDS is configured with the same PDS_* variables as its Docker image:
// read them with the PDS's own readEnv(), then put process.env back.
function readPdsEnv(pds, vars) {
  const saved = {}
  for (const [key, value] of Object.entries(vars)) {
    saved[key] = process.env[key]
    process.env[key] = String(value)
  }
  try {
    return Object.fromEntries(Object.entries(pds.readEnv()).filter(([, v]) => v !== undefined))
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}

// -- A fresh PDS's databases -------------------------------------------------------------------------
// A new PDS creates and migrates its service databases (account, DID cache, sequencer; nine kysely
// migrations on the 0.4 line) before it answers, and until it is used they hold only the migrations'
// bookkeeping. So the host keeps a copy of the first fresh PDS's databases, taken once it was created
// and its sequencer started, before it served anything, and starts every later fresh PDS on a copy of
// it: its migrators find nothing to do. One copy per host: it always matches the PDS version it runs.
const PDS_TEMPLATE_DIR = path.join(RUN_DIR, 'pds-template')
const DATABASE_FILE = /\.sqlite(-wal)?$/ // -shm left out: SQLite rebuilds it from the WAL (see copyData)
let pdsTemplateFiles = null // the template's files, once kept

function keepPdsTemplate(dataDir) {
  if (pdsTemplateFiles) return
  const names = fs.readdirSync(dataDir).filter((name) => DATABASE_FILE.test(name))
  fs.mkdirSync(PDS_TEMPLATE_DIR, { recursive: true })
  for (const name of names) fs.copyFileSync(path.join(dataDir, name), path.join(PDS_TEMPLATE_DIR, name))
  pdsTemplateFiles = names
}

function startOnPdsTemplate(dataDir) {
  if (!pdsTemplateFiles) return
  for (const name of pdsTemplateFiles) fs.copyFileSync(path.join(PDS_TEMPLATE_DIR, name), path.join(dataDir, name))
}

async function startPds(args) {
  const pds = loadPds()
  const id = `pds-${nextServiceId++}`
  const log = openLog(id)
  const dataDir = args.dataDir
  const fresh = !args.copyFrom
  if (!fresh) copyData(args.copyFrom, dataDir) // a restored snapshot
  fs.mkdirSync(dataDir, { recursive: true })
  if (fresh) startOnPdsTemplate(dataDir) // once: a retry on another port keeps the databases it has
  let lastErr = null
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = args.port || (await freePort())
    const env = {
      devMode: true,
      hostname: 'localhost',
      port,
      serviceDid: `did:web:localhost%3A${port}`,
      serviceHandleDomains: ['.test'],
      inviteRequired: false,
      dataDirectory: dataDir,
      blobstoreDiskLocation: path.join(dataDir, 'blobs'),
      blobstoreDiskTmpLocation: path.join(dataDir, 'blobs-tmp'),
      ...readPdsEnv(pds, args.env || {}),
    }
    let instance = null
    try {
      instance = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
      await instance.ctx.sequencer.start() // migrates the sequencer's database
      if (fresh) keepPdsTemplate(dataDir) // the first fresh PDS's databases, before it serves anything
      // app.listen is wrapped by @atproto/xrpc-server to attach the websocket
      // (subscribeRepos) upgrade handler, so listen through it, on loopback only.
      const server = instance.app.listen(port, '127.0.0.1')
      await new Promise((resolve, reject) => {
        server.once('listening', resolve)
        server.once('error', reject)
      })
      server.keepAliveTimeout = 90000
      instance.server = server
      const subscribers = new Set()
      attachAccessLog(server, log, subscribers)
      const url = `http://localhost:${port}`
      log.line(`PDS ${args.name} listening on ${url} (data ${dataDir})`)
      const stop = async () => {
        // destroy() would wait for http-terminator's grace period; tests
        // own every client, so close connections at once instead.
        server.closeAllConnections()
        for (const socket of server.atprotoBddUpgraded || []) socket.destroy() // subscribers (an AppView) too
        await instance.ctx.sequencer.destroy()
        await new Promise((resolve) => server.close(() => resolve()))
        await instance.ctx.backgroundQueue.destroy()
        await instance.ctx.accountManager.close()
        await instance.ctx.redisScratch?.quit()
        await instance.ctx.proxyAgent.destroy()
        await log.close()
        fs.rmSync(dataDir, { recursive: true, force: true })
      }
      services.set(id, { kind: 'pds', name: args.name, url, stop, log, subscribers, instance, dataDir })
      return { id, url, port, did: env.serviceDid, dataDir, log: log.file }
    } catch (err) {
      lastErr = err
      if (instance) {
        await quietly(() => instance.ctx.sequencer.destroy())
        await quietly(() => instance.ctx.accountManager.close())
      }
      if (!isAddrInUse(err) || args.port) break
      log.line(`port ${port} was taken, retrying on another port`)
    }
  }
  await log.close()
  if (args.copyFrom) fs.rmSync(dataDir, { recursive: true, force: true }) // a copy that never ran: nothing to read
  throw lastErr
}

// A Bluesky AppView as dev-env runs one (packages/dev-env/src/bsky.ts): a dataplane on the
// network's Postgres database, the API server, and one repo subscription per PDS (or the relay).
async function migrateAppview(args) {
  const bsky = await loadBsky()
  const db = new bsky.Database({ url: args.dbUrl, schema: 'bsky' })
  try {
    await db.migrateToLatestOrThrow()
  } finally {
    await db.close()
  }
  const bsync = await createBsync({ dbUrl: args.dbUrl, port: 0, apiKey: 'migrations' })
  try {
    await bsync.ctx.db.migrateToLatestOrThrow()
  } finally {
    await bsync.ctx.db.close() // never started: nothing else to stop
  }
  return {}
}

// bsync keeps mutes and notification state for the AppView (dev-env's TestBsync), in the same database.
async function createBsync({ dbUrl, port, apiKey }) {
  const bsync = await loadBsync()
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

// How often appview.waitIndexed looks at the subscriptions' cursors (reading them costs nothing).
const CURSOR_LOOK_MS = 2

// Where each repo subscription has got to (the PDS or relay sequence number it processed).
function appviewCursors({ subs }) {
  return Object.fromEntries([...subs.entries()].map(([source, sub]) => [source, sub.getCursor() ?? 0]))
}

async function processAppview({ subs, bsyncSub, bsyncService }) {
  await Promise.all([...subs.values()].map((sub) => sub.processAll()))
  await bsyncSub.processAll(await bsyncHeads(bsyncService))
}

async function startAppview(args) {
  const bsky = await loadBsky()
  const { Secp256k1Keypair } = await loadCrypto()
  const id = `appview-${nextServiceId++}`
  const log = openLog(id)
  const signingKey = await Secp256k1Keypair.import(args.keyHex)
  const db = new bsky.Database({ url: args.dbUrl, schema: args.schema || 'bsky', poolSize: 10 })
  const dataplanePort = await freePort()
  // The PLC directory is on loopback: resolve with the plain fetch, not the SSRF-safe one.
  const dataplane = await bsky.DataPlaneServer.create(db, dataplanePort, args.plcUrl, globalThis.fetch)
  const bsyncPort = await freePort()
  const bsyncKey = args.adminPassword
  const bsyncService = await createBsync({ dbUrl: args.dbUrl, port: bsyncPort, apiKey: bsyncKey })
  await bsyncService.start()
  let lastErr = null
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = args.port || (await freePort())
    const url = `http://localhost:${port}`
    const config = new bsky.ServerConfig({
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
      modServiceDid: 'did:example:invalidMod',
      labelsFromIssuerDids: [],
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
    const server = bsky.BskyAppView.create({ config, signingKey })
    try {
      await server.start()
    } catch (err) {
      lastErr = err
      await quietly(() => server.destroy())
      if (!isAddrInUse(err) || args.port) break
      log.line(`port ${port} was taken, retrying on another port`)
      continue
    }
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
    services.set(id, { kind: 'appview', name: args.name, url, stop, log, subs, subscribe, bsyncSub, bsyncService })
    return { id, url, port, log: log.file }
  }
  await quietly(() => dataplane.destroy())
  await quietly(() => bsyncService.destroy())
  await quietly(() => db.close())
  await log.close()
  throw lastErr
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

async function stopService(args) {
  const service = services.get(args.id)
  if (!service) return { stopped: false }
  services.delete(args.id)
  await service.stop()
  return { stopped: true }
}

async function stopAll() {
  const all = [...services.keys()]
  await Promise.allSettled(all.map((id) => stopService({ id })))
  return { stopped: all }
}

function packageVersion(name) {
  // package.json through the file system: some packages' "exports" do not list it.
  const dir = path.join(NODE_MODULES, ...name.split('/'))
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
}

const commands = {
  hello: async () => {
    const packages = ROLE === 'appview' ? { bsky: '@atproto/bsky', bsync: '@atproto/bsync' } : { pds: '@atproto/pds', plc: '@did-plc/server' }
    const versions = Object.fromEntries(Object.entries(packages).map(([key, name]) => [key, packageVersion(name)]))
    return { pid: process.pid, node: process.versions.node, role: ROLE, ...versions }
  },
  // Loads the service modules ahead of the first request (it takes seconds).
  warm: async () => {
    if (ROLE === 'appview') {
      await loadBsky()
      await loadBsync()
      await loadCrypto()
    } else {
      loadPds()
      loadPlc()
    }
    // Written after this reply when something was missing (a first run pays a few hundred ms), and
    // again when such a host stops, by then holding the functions its requests compiled too.
    if (loadCache) setImmediate(() => (loadCacheLearned = loadCache.save()))
    return loadCache ? { loadCache: loadCache.stats } : {}
  },
  'appview.migrate': migrateAppview,
  'appview.start': startAppview,
  'appview.subscribe': async (args) => {
    serviceOf(args.id, 'appview').subscribe(args.service)
    return {}
  },
  // Where each repo subscription has got to (the PDS or relay sequence number it processed).
  'appview.cursors': async (args) => ({ cursors: appviewCursors(serviceOf(args.id, 'appview')) }),
  // Waits (at most args.timeoutMs) until each source's cursor reaches its head in args.heads, then
  // until what was read is indexed (dev-env's processAll()). Looking here every few ms, rather than
  // from Python, notices the AppView's progress at once instead of a poll interval later.
  'appview.waitIndexed': async (args) => {
    const appview = serviceOf(args.id, 'appview')
    const deadline = Date.now() + args.timeoutMs
    const behind = () => {
      const cursors = appviewCursors(appview)
      return Object.entries(args.heads).some(([source, head]) => (cursors[source] ?? 0) < head)
    }
    while (behind()) {
      if (Date.now() >= deadline) return { caughtUp: false, cursors: appviewCursors(appview) }
      await new Promise((resolve) => setTimeout(resolve, CURSOR_LOOK_MS))
    }
    await processAppview(appview)
    return { caughtUp: true, cursors: appviewCursors(appview) }
  },
  'plc.start': startPlc,
  'pds.start': startPds,
  'snapshot.take': takeSnapshot,
  'snapshot.drop': dropSnapshot,
  'service.stop': stopService,
  'service.subscribers': async (args) => {
    const service = services.get(args.id)
    if (!service) throw new Error(`no service ${args.id}`)
    return { subscribers: [...(service.subscribers || [])] }
  },
  // A PDS's latest sequence number, as its sequencer reads it (what its FutureCursor check compares with).
  'pds.head': async (args) => {
    const service = serviceOf(args.id, 'pds')
    return { seq: (await service.instance.ctx.sequencer.curr()) ?? 0 }
  },
  'service.list': async () => ({
    services: [...services.entries()].map(([id, s]) => ({ id, kind: s.kind, name: s.name, url: s.url })),
  }),
  'service.stopAll': stopAll,
  shutdown: async () => {
    setImmediate(() => shutdown(0, true))
    return {}
  },
}

async function handle(line) {
  let request
  try {
    request = JSON.parse(line)
  } catch (err) {
    reply({ id: null, ok: false, error: { message: `bad request line: ${line.slice(0, 200)}` } })
    return
  }
  const command = commands[request.cmd]
  if (!command) {
    reply({ id: request.id, ok: false, error: { message: `unknown command ${request.cmd}`, known: Object.keys(commands) } })
    return
  }
  const started = Date.now()
  try {
    const result = await command(request.args || {})
    reply({ id: request.id, ok: true, result, ms: Date.now() - started })
  } catch (err) {
    reply({
      id: request.id,
      ok: false,
      error: { message: String(err && err.message ? err.message : err), code: err && err.code, stack: err && err.stack },
      ms: Date.now() - started,
    })
  }
}

// How long the services get to stop before the host removes its directories and exits anyway. An
// AppView's graceful stop waits on long polls and a database that may be gone (our parent died and took
// PostgreSQL with it), so it gets less; nothing it would still write is kept.
const STOP_BUDGET_MS = ROLE === 'appview' ? 1000 : 4000

// ``orderly``: our parent asked (the "shutdown" command) and cleans up what it owns itself; otherwise
// (stdin closed, SIGTERM, re-parented) the parent is gone and REMOVE_ALSO is ours to remove.
async function shutdown(code, orderly = false) {
  if (shuttingDown) return
  shuttingDown = true
  const last = setTimeout(() => process.exit(code), STOP_BUDGET_MS + 2000) // if even removing hangs
  last.unref()
  try {
    await Promise.race([stopAll(), new Promise((resolve) => setTimeout(resolve, STOP_BUDGET_MS).unref())])
    if (loadCacheLearned) loadCache.save(true)
  } finally {
    if (REMOVE_RUN_DIR) fs.rmSync(RUN_DIR, { recursive: true, force: true })
    if (!orderly) for (const dir of REMOVE_ALSO) fs.rmSync(dir, { recursive: true, force: true })
    process.exit(code)
  }
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`unhandled rejection: ${err && err.stack ? err.stack : err}\n`)
})
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))

// The parent keeps our stdin open for as long as it lives: EOF means it is gone.
const input = readline.createInterface({ input: process.stdin })
input.on('line', (line) => {
  if (line.trim()) handle(line)
})
input.on('close', () => shutdown(0))

// Belt and braces: if we get re-parented (parent killed), exit.
const parentPid = process.ppid
setInterval(() => {
  if (process.ppid !== parentPid) shutdown(0)
}, 500).unref()
