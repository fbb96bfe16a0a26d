// Starts @atproto/dev-env's TestNetworkNoAppView (PLC + one PDS) and prints one
// JSON line when it is ready; closes the network when stdin closes.
//
// Usage: node network.js [pds|full]
//   pds  (default) requires only dev-env's network-no-appview module, which loads
//        @atproto/pds and @did-plc/server but not @atproto/bsky or @atproto/ozone,
//        the same service modules the atproto-bdd host loads;
//   full requires the whole package (require('@atproto/dev-env')), bsky and ozone included.
// The ready line has the time spent in require() (loadMs) and in create() (createMs),
// measured with process.hrtime from the first line of this script, and how many
// bsky/ozone/pds modules ended up in require.cache.
'use strict'
const t0 = process.hrtime.bigint()
const mode = process.argv[2] || 'pds'
const ms = (from, to) => Number(to - from) / 1e6
// By path: dev-env 0.6 exports only its main module ("exports": {".": ...}).
const devEnvDist = require('node:path').dirname(require.resolve('@atproto/dev-env'))
const { TestNetworkNoAppView } =
  mode === 'full' ? require('@atproto/dev-env') : require(`${devEnvDist}/network-no-appview`)
const loaded = process.hrtime.bigint()

function countModules(pkg) {
  return Object.keys(require.cache).filter((k) => k.includes(`/${pkg}/`)).length
}

TestNetworkNoAppView.create({})
  .then((network) => {
    const created = process.hrtime.bigint()
    const line = {
      ready: true,
      mode,
      loadMs: ms(t0, loaded),
      createMs: ms(loaded, created),
      modules: {
        total: Object.keys(require.cache).length,
        bsky: countModules('@atproto/bsky'),
        ozone: countModules('@atproto/ozone'),
        pds: countModules('@atproto/pds'),
        plc: countModules('@did-plc/server'),
      },
      pds: network.pds.url,
    }
    process.stdout.write(JSON.stringify(line) + '\n')
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
