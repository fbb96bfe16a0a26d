// Runs beside the relay, in its network namespace: the relay dials each PDS
// at the URL of its DID documents, http://localhost:PORT, and this forwards
// localhost:PORT to the PDS's container (pds-a:PORT) on the test network.
// It prints "upgraded PORT" when a websocket upgrade succeeds through it.
'use strict'
const net = require('net')
for (const spec of (process.env.FORWARD || '').split(',').filter(Boolean)) {
  const [listen, target] = spec.split('=')
  const [host, port] = target.split(':')
  net
    .createServer((client) => {
      const upstream = net.connect(Number(port), host)
      upstream.once('data', (chunk) => {
        if (chunk.toString('latin1', 0, 12) === 'HTTP/1.1 101') console.log(`upgraded ${listen}`)
      })
      client.pipe(upstream)
      upstream.pipe(client)
      const end = () => {
        client.destroy()
        upstream.destroy()
      }
      for (const socket of [client, upstream]) {
        socket.on('error', end)
        socket.on('close', end)
      }
    })
    .listen(Number(listen), '127.0.0.1', () => console.log(`listening ${listen} -> ${target}`))
}
process.on('SIGTERM', () => process.exit(0))
