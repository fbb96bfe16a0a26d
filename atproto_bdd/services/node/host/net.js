'use strict'
// Ports and listening, for every service of the host: one way to find a free port, to wait for a
// server to listen, and to start on a free port again when another process took it first.

const net = require('node:net')
const { once } = require('node:events')

// How many ports a start tries before it gives up (services/ports.py has the same number).
const PORT_ATTEMPTS = 5

// A TCP port on 127.0.0.1 that is free right now (the caller binds it next).
async function freePort() {
  const probe = net.createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address()
  probe.close()
  await once(probe, 'close')
  return port
}

// Whether ``err`` says a port was taken.
function isAddrInUse(err) {
  return Boolean(err) && (err.code === 'EADDRINUSE' || /EADDRINUSE/.test(String(err.message)))
}

// Resolves once ``server`` (a net.Server that was told to listen) listens; rejects with its error.
function listening(server) {
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      server.off('listening', onListening)
      reject(err)
    }
    const onListening = () => {
      server.off('error', onError)
      resolve()
    }
    server.once('listening', onListening)
    server.once('error', onError)
  })
}

// ``start(port)`` on ``port`` when one is given (one attempt: the caller chose it, e.g. a restored PDS
// whose DID documents name it), else on a free port, and on "address in use" again on another one.
// A service that need not know its port before it starts listens on port 0 instead (the PLC).
// ``start`` must clean up what it began before it throws; ``log`` (an openLog()) records each retry.
async function onFreePort(port, start, { log } = {}) {
  for (let attempt = 1; ; attempt++) {
    const chosen = port || (await freePort())
    try {
      return await start(chosen)
    } catch (err) {
      if (port || attempt >= PORT_ATTEMPTS || !isAddrInUse(err)) throw err
      if (log) log.line(`port ${chosen} was taken, retrying on another port`)
    }
  }
}

// Servers that call listen(port) without a host bind every interface; after this call, a listen without
// a host binds 127.0.0.1 (the AppView's API and dataplane servers do so, and we keep to loopback).
function bindLoopbackByDefault() {
  const listen = net.Server.prototype.listen
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
    return listen.apply(this, args)
  }
}

module.exports = { freePort, isAddrInUse, listening, onFreePort, bindLoopbackByDefault, PORT_ATTEMPTS }
