'use strict'
// PDSes: @atproto/pds in the host, configured with the PDS_* variables of its Docker image, started
// fresh (on a copy of the first fresh PDS's migrated databases), on a snapshot's data directory, or
// again on its own (a restart: the same id, data directory, port, secrets and log).

const fs = require('node:fs')
const path = require('node:path')
const { attachAccessLog, quietly } = require('./services')
const { listening, onFreePort } = require('./net')
const { copyData } = require('./snapshots')
const { hashing: passwordHashing } = require('./password_hash')

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
const DATABASE_FILE = /\.sqlite(-wal)?$/ // -shm left out: SQLite rebuilds it from the WAL (see copyData)

class PdsTemplate {
  constructor(dir) {
    this.dir = dir
    this.files = null // the template's files, once kept
  }

  keep(dataDir) {
    if (this.files) return
    const names = fs.readdirSync(dataDir).filter((name) => DATABASE_FILE.test(name))
    fs.mkdirSync(this.dir, { recursive: true })
    for (const name of names) fs.copyFileSync(path.join(dataDir, name), path.join(this.dir, name))
    this.files = names
  }

  startOn(dataDir) {
    if (!this.files) return
    for (const name of this.files) fs.copyFileSync(path.join(this.dir, name), path.join(dataDir, name))
  }
}

function pdsCommands({ packages, services, runDir }) {
  const template = new PdsTemplate(path.join(runDir, 'pds-template'))

  // ``args``: name, dataDir, env (PDS_* variables), and optionally port, copyFrom (a snapshot's data
  // directory to start on a copy of), id (a restart: service ``id``, stopped, again on its data and port)
  // and fastPasswordHash (the setting: password hashes memoized per password, host/password_hash.js; it
  // holds for the whole host, whose PDSes all belong to one run).
  async function start(args) {
    const pds = packages.require('@atproto/pds')
    passwordHashing.set(args.fastPasswordHash)
    const { id, log } = services.begin('pds', args.id) // a restart appends to the service's log
    const dataDir = args.dataDir
    const fresh = !args.copyFrom && !args.id
    if (args.copyFrom) copyData(args.copyFrom, dataDir) // a restored snapshot
    fs.mkdirSync(dataDir, { recursive: true })
    if (fresh) template.startOn(dataDir) // once: a retry on another port keeps the databases it has

    const startOn = async (port) => {
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
        if (fresh) template.keep(dataDir) // the first fresh PDS's databases, before it serves anything
        // app.listen is wrapped by @atproto/xrpc-server to attach the websocket
        // (subscribeRepos) upgrade handler, so listen through it, on loopback only.
        const server = instance.app.listen(port, '127.0.0.1')
        await listening(server)
        return { instance, server, env }
      } catch (err) {
        if (instance) {
          await quietly(() => instance.ctx.sequencer.destroy())
          await quietly(() => instance.ctx.accountManager.close())
        }
        throw err
      }
    }

    let started
    try {
      started = await onFreePort(args.port, startOn, { log })
    } catch (err) {
      await log.close()
      if (args.copyFrom) fs.rmSync(dataDir, { recursive: true, force: true }) // a copy that never ran: nothing to read
      throw err
    }
    const { instance, server, env } = started
    server.keepAliveTimeout = 90000
    instance.server = server
    const subscribers = new Set()
    attachAccessLog(server, log, subscribers)
    const url = `http://localhost:${env.port}`
    log.line(`PDS ${args.name} ${args.id ? 'restarted' : 'listening'} on ${url} (data ${dataDir})`)
    // ``keepData``: a restart, which starts again on the data directory; a stop removes it.
    const stop = async ({ keepData = false } = {}) => {
      // destroy() would wait for http-terminator's grace period; tests
      // own every client, so close connections at once instead. The server stops listening first: a
      // subscriber that reconnects at once (a relay does, within milliseconds) must find no server,
      // or its new connection would keep server.close() waiting.
      const closed = new Promise((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      for (const socket of server.atprotoBddUpgraded || []) socket.destroy() // subscribers (an AppView) too
      // The sequencer's destroy() waits for its poll loop, which sleeps up to a second between polls once the
      // PDS has been idle (its back-off): a restart after a quiet moment took 0.3-0.4 s for that alone. It
      // marks the sequencer destroyed at once, and its next poll ends the loop; its database closes after.
      const sequencerDone = instance.ctx.sequencer.destroy()
      await closed
      await instance.ctx.backgroundQueue.destroy()
      await instance.ctx.accountManager.close()
      await instance.ctx.redisScratch?.quit()
      await instance.ctx.proxyAgent.destroy()
      // The sequencer's and the DID cache's databases, which the PDS itself never closes.
      await quietly(() => instance.ctx.didCache?.destroy())
      await quietly(() => instance.ctx.didCache?.db?.close())
      const sequencerClosed = sequencerDone.then(() => quietly(() => instance.ctx.sequencer.db?.close()))
      if (keepData) log.line(`PDS ${args.name} stopped, to start again on ${dataDir}`)
      await log.close()
      if (!keepData) {
        await sequencerClosed // its files go next
        fs.rmSync(dataDir, { recursive: true, force: true })
      }
    }
    // What a restart starts with again: the same name, data directory, PDS_* variables (secrets), port and
    // password hashing.
    const again = { name: args.name, dataDir, env: args.env, port: env.port, id, fastPasswordHash: args.fastPasswordHash }
    services.add(id, { kind: 'pds', name: args.name, url, stop, log, subscribers, instance, dataDir, again })
    const fastPasswordHash = passwordHashing.on
    return { id, url, port: env.port, did: env.serviceDid, dataDir, log: log.file, fastPasswordHash }
  }

  // Stops PDS ``args.id`` keeping its data directory, and starts it again on it: the same id, port (its
  // URL and did:web), secrets and log; accounts, repositories, sessions and the sequencer's numbers go on.
  async function restart(args) {
    const { again } = services.of(args.id, 'pds')
    const began = Date.now()
    await services.stop(args.id, { keepData: true })
    const stopped = Date.now()
    const result = await start(again)
    return { ...result, stopMs: stopped - began, startMs: Date.now() - stopped }
  }

  return {
    'pds.start': start,
    'pds.restart': restart,
    // A PDS's latest sequence number, as its sequencer reads it (what its FutureCursor check compares with).
    'pds.head': async (args) => ({ seq: (await services.of(args.id, 'pds').instance.ctx.sequencer.curr()) ?? 0 }),
    // Whether password hashes are memoized (on, and the seam: "exports", "resolve-hook" or null), and how often.
    'pds.passwordHashing': async () => passwordHashing.report(),
  }
}

module.exports = { pdsCommands }
