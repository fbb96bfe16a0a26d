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
//
// This file is the RPC, the command table and the shutdown; each service's commands live in
// host/<service>.js (plc, pds, appview, ozone, snapshots, lexicons), what they share in host/services.js (the
// running services and their logs), host/net.js (ports, listen with retry) and host/packages.js.

const fs = require('node:fs')
const path = require('node:path')
const readline = require('node:readline')

const { Services } = require('./host/services')
const { Packages } = require('./host/packages')
const { Snapshots } = require('./host/snapshots')
const { bindLoopbackByDefault } = require('./host/net')
const { plcCommands } = require('./host/plc')
const { pdsCommands } = require('./host/pds')
const { appviewCommands } = require('./host/appview')
const { ozoneCommands } = require('./host/ozone')
const { lexiconCommands } = require('./host/lexicons')

const CONTROL_FD = Number(process.env.ATPROTO_BDD_CONTROL_FD || 3)
const RUN_DIR = process.env.ATPROTO_BDD_RUN_DIR
const NODE_MODULES = process.env.ATPROTO_BDD_NODE_MODULES
const REMOVE_RUN_DIR = process.env.ATPROTO_BDD_REMOVE_RUN_DIR === '1'
// More directories to remove on exit (the AppView host: PostgreSQL's data, which lives outside the run directory).
const REMOVE_ALSO = (process.env.ATPROTO_BDD_REMOVE_ALSO || '').split(path.delimiter).filter(Boolean)

// "network": PLC directories and PDSes (the default); "appview": Bluesky AppViews (@atproto/bsky) and
// Ozone (@atproto/ozone, on the AppView's database), which need Node.js 22 and their own node_modules, so
// they run in a second host.
const ROLES = {
  network: {
    main: '@atproto/pds',
    versions: { pds: '@atproto/pds', plc: '@did-plc/server' },
    warm: (packages) => ['@atproto/pds', '@did-plc/server'].forEach((name) => packages.require(name)),
    // How long the services get to stop before the host removes its directories and exits anyway.
    stopBudgetMs: 4000,
  },
  appview: {
    main: '@atproto/bsky',
    versions: { bsky: '@atproto/bsky', bsync: '@atproto/bsync', ozone: '@atproto/ozone' },
    warm: async (packages) => {
      for (const name of ['@atproto/bsky', '@atproto/bsync', '@atproto/crypto']) await packages.import(name)
    },
    // An AppView's graceful stop waits on long polls and a database that may be gone (our parent died and
    // took PostgreSQL with it), so it gets less; nothing it would still write is kept.
    stopBudgetMs: 1000,
  },
}
const ROLE_NAME = process.env.ATPROTO_BDD_HOST_ROLE || 'network'
const ROLE = ROLES[ROLE_NAME]

if (!NODE_MODULES || !RUN_DIR || !ROLE) {
  process.stderr.write(
    `host.js needs ATPROTO_BDD_NODE_MODULES, ATPROTO_BDD_RUN_DIR and a role of ${Object.keys(ROLES).join(', ')}\n`,
  )
  process.exit(2)
}

// The memo of module resolution, the V8 code cache and the sources of the services' modules
// (load_cache.js), kept beside the install; empty when turned off (node_host.py decides).
const packages = new Packages(NODE_MODULES)
const LOAD_CACHE_DIR = process.env.ATPROTO_BDD_LOAD_CACHE_DIR
const loadCache = (() => {
  if (!LOAD_CACHE_DIR) return null
  const { installLoadCache, cacheFileName } = require('./load_cache')
  // The 0.5 line's PDS and the AppView are ES modules, whose resolution the cache memoizes too.
  const esm = packages.isEsm(ROLE.main)
  return installLoadCache(NODE_MODULES, path.join(LOAD_CACHE_DIR, cacheFileName()), { esm })
})()
let loadCacheLearned = false

// Test-speed password hashing (host/password_hash.js): its seam is installed before the PDS loads,
// after the load cache's resolution hook, so that its own hook runs first. Off until pds.start says.
if (ROLE_NAME === 'network') require('./host/password_hash').installPasswordHashing(packages)

// The AppView's servers (its API and its dataplane) call listen(port) without a host.
if (ROLE_NAME === 'appview') bindLoopbackByDefault()

const services = new Services(path.join(RUN_DIR, 'logs'))
const snapshots = new Snapshots(services)
const parts = { packages, services, snapshots, runDir: RUN_DIR }

const commands = {
  hello: async () => {
    const versions = Object.fromEntries(Object.entries(ROLE.versions).map(([key, name]) => [key, packages.version(name)]))
    return { pid: process.pid, node: process.versions.node, role: ROLE_NAME, ...versions }
  },
  // Loads the service modules ahead of the first request (it takes seconds).
  warm: async () => {
    await ROLE.warm(packages)
    // Written after this reply when something was missing (a first run pays a few hundred ms), and
    // again when such a host stops, by then holding the functions its requests compiled too.
    if (loadCache) setImmediate(() => (loadCacheLearned = loadCache.save()))
    return loadCache ? { loadCache: loadCache.stats } : {}
  },
  ...plcCommands(parts),
  ...pdsCommands(parts),
  ...appviewCommands(parts),
  ...ozoneCommands(parts),
  ...lexiconCommands(parts),
  ...snapshots.commands(),
  ...services.commands(),
  shutdown: async () => {
    setImmediate(() => shutdown(0, true))
    return {}
  },
}

function reply(message) {
  fs.writeSync(CONTROL_FD, JSON.stringify(message) + '\n')
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

let shuttingDown = false

// ``orderly``: our parent asked (the "shutdown" command) and cleans up what it owns itself; otherwise
// (stdin closed, SIGTERM, re-parented) the parent is gone and REMOVE_ALSO is ours to remove.
async function shutdown(code, orderly = false) {
  if (shuttingDown) return
  shuttingDown = true
  const last = setTimeout(() => process.exit(code), ROLE.stopBudgetMs + 2000) // if even removing hangs
  last.unref()
  try {
    await Promise.race([services.stopAll(), new Promise((resolve) => setTimeout(resolve, ROLE.stopBudgetMs).unref())])
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
