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
const LOG_DIR = RUN_DIR ? path.join(RUN_DIR, 'logs') : null

if (!NODE_MODULES || !RUN_DIR) {
  process.stderr.write('host.js needs ATPROTO_BDD_NODE_MODULES and ATPROTO_BDD_RUN_DIR\n')
  process.exit(2)
}
fs.mkdirSync(LOG_DIR, { recursive: true })

const requireDep = createRequire(path.join(NODE_MODULES, 'noop.js'))
let pdsLib = null
let plcLib = null
const loadPds = () => (pdsLib = pdsLib || requireDep('@atproto/pds'))
const loadPlc = () => (plcLib = plcLib || requireDep('@did-plc/server'))

const services = new Map() // id -> { kind, name, url, stop: async () => void, log, subscribers? }
let nextServiceId = 1
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

function isAddrInUse(err) {
  return err && (err.code === 'EADDRINUSE' || /EADDRINUSE/.test(String(err.message)))
}

async function startPlc(args) {
  const plc = loadPlc()
  const id = `plc-${nextServiceId++}`
  const log = openLog(id)
  const server = plc.PlcServer.create({ db: plc.Database.mock(), port: 0, version: 'atproto-bdd' })
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
  services.set(id, { kind: 'plc', name: args.name || 'plc', url, stop, log })
  return { id, url, port, log: log.file }
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

async function startPds(args) {
  const pds = loadPds()
  const id = `pds-${nextServiceId++}`
  const log = openLog(id)
  const dataDir = args.dataDir
  fs.mkdirSync(dataDir, { recursive: true })
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
      await instance.ctx.sequencer.start()
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
        await instance.ctx.sequencer.destroy()
        await new Promise((resolve) => server.close(() => resolve()))
        await instance.ctx.backgroundQueue.destroy()
        await instance.ctx.accountManager.close()
        await instance.ctx.redisScratch?.quit()
        await instance.ctx.proxyAgent.destroy()
        await log.close()
        fs.rmSync(dataDir, { recursive: true, force: true })
      }
      services.set(id, { kind: 'pds', name: args.name, url, stop, log, subscribers })
      return { id, url, port, did: env.serviceDid, dataDir, log: log.file }
    } catch (err) {
      lastErr = err
      if (instance) {
        await instance.ctx.sequencer.destroy().catch(() => {})
        await instance.ctx.accountManager.close().catch(() => {})
      }
      if (!isAddrInUse(err) || args.port) break
      log.line(`port ${port} was taken, retrying on another port`)
    }
  }
  await log.close()
  throw lastErr
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

const commands = {
  hello: async () => {
    const version = (name) => requireDep(`${name}/package.json`).version
    return {
      pid: process.pid,
      node: process.versions.node,
      pds: version('@atproto/pds'),
      plc: version('@did-plc/server'),
    }
  },
  // Loads the service modules ahead of the first request (it takes seconds).
  warm: async () => {
    loadPds()
    loadPlc()
    return {}
  },
  'plc.start': startPlc,
  'pds.start': startPds,
  'service.stop': stopService,
  'service.subscribers': async (args) => {
    const service = services.get(args.id)
    if (!service) throw new Error(`no service ${args.id}`)
    return { subscribers: [...(service.subscribers || [])] }
  },
  'service.list': async () => ({
    services: [...services.entries()].map(([id, s]) => ({ id, kind: s.kind, name: s.name, url: s.url })),
  }),
  'service.stopAll': stopAll,
  shutdown: async () => {
    setImmediate(() => shutdown(0))
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

async function shutdown(code) {
  if (shuttingDown) return
  shuttingDown = true
  const deadline = setTimeout(() => process.exit(code), 5000)
  deadline.unref()
  try {
    await stopAll()
  } finally {
    if (REMOVE_RUN_DIR) fs.rmSync(RUN_DIR, { recursive: true, force: true })
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
