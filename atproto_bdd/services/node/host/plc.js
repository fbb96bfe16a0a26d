'use strict'
// PLC directories: @did-plc/server on its in-memory database, empty or with a snapshot's operations.

const http = require('node:http')
const { attachAccessLog } = require('./services')
const { listening } = require('./net')

function plcCommands({ packages, services, snapshots }) {
  async function start(args) {
    const plc = packages.require('@did-plc/server')
    const { id, log } = services.begin('plc')
    const db = plc.Database.mock()
    if (args.snapshot) db.contents = snapshots.plcOperations(args.snapshot)
    const server = plc.PlcServer.create({ db, port: 0, version: 'atproto-bdd' })
    const httpServer = http.createServer(server.app)
    attachAccessLog(httpServer, log)
    // Port 0 unless the caller names one: nothing needs the PLC's port before it listens.
    httpServer.listen(args.port || 0, '127.0.0.1')
    try {
      await listening(httpServer)
    } catch (err) {
      await log.close()
      throw err
    }
    const port = httpServer.address().port
    const url = `http://127.0.0.1:${port}`
    log.line(`PLC directory listening on ${url}`)
    // A fault: the directory stops listening (its operations are kept in memory) until up() or a timer.
    const outage = { down: false, timer: null }
    const close = async () => {
      httpServer.closeAllConnections()
      await new Promise((resolve) => httpServer.close(() => resolve()))
    }
    const up = async () => {
      clearTimeout(outage.timer)
      outage.timer = null
      if (!outage.down) return
      // The same port: every PDS and DID document names the directory's URL.
      httpServer.listen(port, '127.0.0.1')
      await listening(httpServer)
      outage.down = false
      log.line(`PLC directory up again on ${url}`)
    }
    const down = async (ms) => {
      if (!outage.down) {
        outage.down = true
        await close()
        log.line(`PLC directory down (a fault)${ms ? ` for ${ms} ms` : ''}`)
      }
      clearTimeout(outage.timer)
      outage.timer = ms
        ? setTimeout(() => up().catch((err) => log.line(`PLC directory could not listen again: ${err.message}`)), ms)
        : null
    }
    const stop = async () => {
      clearTimeout(outage.timer)
      if (!outage.down) await close()
      await log.close()
    }
    services.add(id, { kind: 'plc', name: args.name || 'plc', url, stop, log, db, up, down })
    return { id, url, port, log: log.file }
  }

  return {
    'plc.start': start,
    // The directory stops answering (connections closed, new ones refused); with ``ms``, it is back after them.
    'plc.down': async (args) => {
      await services.of(args.id, 'plc').down(args.ms || 0)
      return {}
    },
    // The directory answers again, on its port, now (a pending timer is cancelled).
    'plc.up': async (args) => {
      await services.of(args.id, 'plc').up()
      return {}
    },
  }
}

module.exports = { plcCommands }
