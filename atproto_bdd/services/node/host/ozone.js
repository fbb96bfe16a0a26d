'use strict'
// Ozone, Bluesky's moderation service (@atproto/ozone), as dev-env's TestOzone runs it
// (packages/dev-env/src/ozone.ts): its API server and its daemon (event pushes to the PDS and the AppView;
// dev-env turns the daemon's event reverser off, and so do we), on the network AppView's database under
// schema "ozone" (migrated once, in the AppView's template database).
//
// Its labels reach the AppView through a label bridge: the open-source AppView (@atproto/bsky) has no
// label ingester (Bluesky's production AppView ingests the labels of the labelers it trusts), so the bridge
// subscribes to Ozone's com.atproto.label.subscribeLabels, as any labeler consumer does, and writes what
// it reads into the AppView's `label` table (a negation deletes the label), as self-hosted AppView stacks
// do (zeppelin-social/labelmuncher). It is wiring between two real services, not a stand-in for either.

const { attachAccessLog, quietly } = require('./services')
const { onFreePort } = require('./net')

// How often settle() looks at the bridge's cursor against Ozone's latest label.
const BRIDGE_LOOK_MS = 2

// Runs Ozone's migrations on ``dbUrl`` (schema "ozone"); appview.migrate calls it for the template database.
async function migrateOzone(packages, dbUrl) {
  const ozone = await packages.import('@atproto/ozone')
  const db = new ozone.Database({ url: dbUrl, schema: 'ozone' })
  try {
    await db.migrateToLatestOrThrow()
  } finally {
    await db.close()
  }
}

// The id of Ozone's latest label (its subscribeLabels sequence number), 0 if none.
async function latestLabel(server) {
  const row = await server.ctx.db.db
    .selectFrom('label')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst()
  return row?.id != null ? Number(row.id) : 0
}

// Reads Ozone's label stream into the AppView's label table (see the top of this file).
function startLabelBridge({ Subscription, url, did, appviewDb, log }) {
  // appviewDb(): the AppView's database now (a restarted AppView has a new one, under the same id)
  const abort = new AbortController()
  const state = { cursor: 0, failed: null }
  const subscription = new Subscription({
    service: url.replace(/^http/, 'ws'),
    method: 'com.atproto.label.subscribeLabels',
    signal: abort.signal,
    maxReconnectSeconds: 1,
    getParams: () => ({ cursor: state.cursor }),
    validate: (body) => body,
  })
  const write = async (label) => {
    const key = { src: label.src, uri: label.uri, cid: label.cid ?? '', val: label.val }
    const db = appviewDb().db
    if (label.neg) {
      await db
        .deleteFrom('label')
        .where('src', '=', key.src)
        .where('uri', '=', key.uri)
        .where('cid', '=', key.cid)
        .where('val', '=', key.val)
        .execute()
      return
    }
    const row = { ...key, neg: false, cts: label.cts, exp: label.exp ?? null }
    await db
      .insertInto('label')
      .values(row)
      .onConflict((oc) => oc.columns(['src', 'uri', 'cid', 'val']).doUpdateSet({ cts: row.cts, exp: row.exp }))
      .execute()
  }
  const done = (async () => {
    try {
      for await (const message of subscription) {
        if (!String(message.$type || '').endsWith('#labels')) continue
        for (const label of message.labels || []) {
          // Only what Ozone itself signs: the AppView trusts its DID, not whatever a stream carries.
          if (label.src !== did) continue
          // The AppView may be restarting (a fault step): the label waits for it rather than being lost.
          for (let attempt = 1; ; attempt++) {
            try {
              await write(label)
              break
            } catch (err) {
              if (abort.signal.aborted) return
              if (attempt === 1) log.line(`label bridge: waiting for the AppView (${err && err.message})`)
              await new Promise((resolve) => setTimeout(resolve, 20))
            }
          }
          log.line(`label bridge: ${label.neg ? 'removed' : 'applied'} ${label.val} on ${label.uri}`)
        }
        state.cursor = Number(message.seq)
      }
    } catch (err) {
      if (!abort.signal.aborted) {
        state.failed = String(err && err.message ? err.message : err)
        log.line(`label bridge stopped: ${state.failed}`)
      }
    }
  })()
  return {
    state,
    stop: async () => {
      abort.abort()
      await quietly(() => done)
    },
  }
}

function ozoneCommands({ packages, services }) {
  // ``args``: name, port (named by the caller: Ozone's DID document holds its URL), plcUrl, dbUrl, did, keyHex,
  // adminPassword, appviewId, appviewUrl, appviewDid, pdsUrl, pdsDid, admins, moderators, triage (DIDs).
  async function start(args) {
    const ozone = await packages.import('@atproto/ozone')
    const { Subscription } = await packages.import('@atproto/xrpc-server')
    services.of(args.appviewId, 'appview') // it must run: Ozone's labels go into its database
    const { id, log } = services.begin('ozone', args.id)
    const startOn = async (port) => {
      const url = `http://localhost:${port}`
      const env = {
        devMode: true,
        version: 'atproto-bdd',
        port,
        publicUrl: url,
        serverDid: args.did,
        signingKeyHex: args.keyHex,
        didPlcUrl: args.plcUrl,
        didCacheStaleTTL: 0, // tests see DID changes (a moderator's new key) at once
        dbPostgresUrl: args.dbUrl,
        dbPostgresSchema: 'ozone',
        dbPoolSize: 5,
        appviewUrl: args.appviewUrl,
        appviewDid: args.appviewDid,
        appviewPushEvents: true,
        pdsUrl: args.pdsUrl,
        pdsDid: args.pdsDid,
        adminPassword: args.adminPassword,
        adminDids: args.admins || [],
        // The AppView is a moderator, as dev-env has it (it asks Ozone about subjects).
        moderatorDids: [...(args.moderators || []), args.appviewDid],
        triageDids: args.triage || [],
      }
      const cfg = ozone.envToCfg(env)
      const secrets = ozone.envToSecrets(env)
      const server = await ozone.OzoneService.create(cfg, secrets)
      try {
        await server.start()
      } catch (err) {
        await quietly(() => server.destroy())
        throw err
      }
      let daemon
      try {
        daemon = await ozone.OzoneDaemon.create(cfg, secrets)
        await daemon.start()
        await daemon.ctx.eventReverser.destroy() // as dev-env: scheduled reversals stay where tests put them
      } catch (err) {
        await quietly(() => daemon?.destroy())
        await quietly(() => server.destroy())
        throw err
      }
      return { server, daemon, url, port }
    }
    let started
    try {
      started = await onFreePort(args.port, startOn, { log })
    } catch (err) {
      await log.close()
      throw err
    }
    const { server, daemon, url, port } = started
    attachAccessLog(server.server, log)
    const appviewDb = () => services.of(args.appviewId, 'appview').db
    const bridge = startLabelBridge({ Subscription, url, did: args.did, appviewDb, log })
    log.line(`Ozone ${args.name} listening on ${url} as ${args.did}, pushing to ${args.pdsUrl} and ${args.appviewUrl}`)
    const stop = async () => {
      await bridge.stop()
      server.server?.closeAllConnections?.()
      await quietly(() => daemon.destroy())
      await quietly(() => server.destroy())
      await log.close()
    }
    services.add(id, { kind: 'ozone', name: args.name, url, stop, log, server, daemon, bridge })
    return { id, url, port, log: log.file }
  }

  // Waits (at most args.timeoutMs) until what Ozone has done is out of it: its background queue (event
  // pushes to the PDS and the AppView), the daemon's work (dev-env's processAll()), and every label it
  // issued through the bridge into the AppView.
  async function settle(args) {
    const { server, daemon, bridge } = services.of(args.id, 'ozone')
    const deadline = performance.now() + args.timeoutMs
    await server.ctx.backgroundQueue.processAll()
    await daemon.processAll()
    const head = await latestLabel(server)
    while (bridge.state.cursor < head) {
      if (bridge.state.failed) return { settled: false, cursor: bridge.state.cursor, head, error: bridge.state.failed }
      if (performance.now() >= deadline) return { settled: false, cursor: bridge.state.cursor, head }
      await new Promise((resolve) => setTimeout(resolve, BRIDGE_LOOK_MS))
    }
    return { settled: true, cursor: bridge.state.cursor, head }
  }

  return {
    'ozone.start': start,
    'ozone.settle': settle,
  }
}

module.exports = { ozoneCommands, migrateOzone }
