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
    const stop = async () => {
      httpServer.closeAllConnections()
      await new Promise((resolve) => httpServer.close(() => resolve()))
      await log.close()
    }
    services.add(id, { kind: 'plc', name: args.name || 'plc', url, stop, log, db })
    return { id, url, port, log: log.file }
  }

  return { 'plc.start': start }
}

module.exports = { plcCommands }
