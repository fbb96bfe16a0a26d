// Starts @atproto/dev-env's TestNetworkNoAppView (PLC + one PDS) and prints one
// JSON line when it is ready; closes the network when stdin closes.
'use strict'
const started = Date.now()
const { TestNetworkNoAppView } = require('@atproto/dev-env')

TestNetworkNoAppView.create({})
  .then((network) => {
    process.stdout.write(JSON.stringify({ ready: true, ms: Date.now() - started, pds: network.pds.url }) + '\n')
    process.stdin.resume()
    process.stdin.on('end', async () => {
      await network.close()
      process.exit(0)
    })
  })
  .catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err) + '\n')
    process.exit(1)
  })
