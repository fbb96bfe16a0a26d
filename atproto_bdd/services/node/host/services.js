'use strict'
// The services a host runs (PLC directories, PDSes, AppViews), each with its log: what the commands
// "service.*" list and stop, and what the host stops when it exits.

const fs = require('node:fs')
const path = require('node:path')

const KIND_NAMES = { plc: 'PLC directory', pds: 'PDS', appview: 'AppView' }

// A clean-up call while another error is being reported: it may return a promise or nothing (some close()
// methods are synchronous), and whatever it throws is dropped so that the first error is the one reported.
async function quietly(call) {
  try {
    await call()
  } catch {}
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

class Services {
  constructor(logDir) {
    this.logDir = logDir
    this.running = new Map() // id -> { kind, name, url, stop: async () => void, log, subscribers?, ... }
    this.nextId = 1
    fs.mkdirSync(logDir, { recursive: true })
  }

  // A new service id of ``kind`` and the log its service writes (logs/<id>.log in the run directory);
  // with ``id``, that service again (a restart: its log goes on).
  begin(kind, id) {
    const chosen = id || `${kind}-${this.nextId++}`
    return { id: chosen, log: this.openLog(chosen) }
  }

  openLog(id) {
    const file = path.join(this.logDir, `${id}.log`)
    const stream = fs.createWriteStream(file, { flags: 'a' })
    stream.on('error', () => {}) // a full disk must not kill the host
    return {
      file,
      line: (text) => stream.write(`${new Date().toISOString()} ${text}\n`),
      close: () => new Promise((resolve) => stream.end(resolve)),
    }
  }

  // Keeps a started service: ``service`` has at least kind, name, url, log and stop().
  add(id, service) {
    this.running.set(id, service)
  }

  // The running service ``id``, which must be of ``kind`` ("plc", "pds", "appview"; any when not given).
  of(id, kind) {
    const service = this.running.get(id)
    if (!service || (kind && service.kind !== kind)) throw new Error(`no ${kind ? KIND_NAMES[kind] : 'service'} ${id}`)
    return service
  }

  // ``options`` go to the service's stop() (a PDS's { keepData } for a restart).
  async stop(id, options) {
    const service = this.running.get(id)
    if (!service) return { stopped: false }
    this.running.delete(id)
    await service.stop(options)
    return { stopped: true }
  }

  async stopAll() {
    const all = [...this.running.keys()]
    await Promise.allSettled(all.map((id) => this.stop(id)))
    return { stopped: all }
  }

  list() {
    return [...this.running.entries()].map(([id, s]) => ({ id, kind: s.kind, name: s.name, url: s.url }))
  }

  // The commands every role answers.
  commands() {
    return {
      'service.stop': (args) => this.stop(args.id),
      'service.stopAll': () => this.stopAll(),
      'service.list': async () => ({ services: this.list() }),
      'service.subscribers': async (args) => ({ subscribers: [...(this.of(args.id).subscribers || [])] }),
    }
  }
}

module.exports = { Services, attachAccessLog, quietly }
