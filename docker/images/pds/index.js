'use strict'
// The PDS service entry, as the official image (ghcr.io/bluesky-social/pds)
// runs it: configuration from PDS_* variables, then PDS.create and start.
const pds = require('@atproto/pds')

async function main() {
  const env = pds.readEnv()
  const server = await pds.PDS.create(pds.envToCfg(env), pds.envToSecrets(env))
  await server.start()
  const stop = async () => {
    await server.destroy()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
