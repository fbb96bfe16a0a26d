'use strict'
// Background snapshots: a network's state copied once, restored for each scenario.
// The in-memory PLC's operations (its mock database keeps them per DID, in `contents`) are kept here;
// each PDS's data directory is copied to a directory the caller names, and a restored PDS starts on a
// copy of it, on the same port (the DID documents in the PLC name that URL), with the same secrets.

const fs = require('node:fs')

// SQLite's shared-memory index (-shm) is left out: a copy opened later rebuilds it from the WAL file,
// which holds every committed transaction.
const copyData = (from, to) => fs.cpSync(from, to, { recursive: true, filter: (source) => !source.endsWith('-shm') })

function cloneOperations(contents) {
  // Each operation is a new entry in its DID's list; only `nullified` is ever changed in place.
  return Object.fromEntries(Object.entries(contents).map(([did, ops]) => [did, ops.map((op) => ({ ...op }))]))
}

class Snapshots {
  constructor(services) {
    this.services = services
    this.kept = new Map() // id -> { plc: contents, dirs: [snapshot directories] }
    this.nextId = 1
  }

  // A copy of snapshot ``id``'s PLC operations, for a new PLC directory to start with.
  plcOperations(id) {
    const snapshot = this.kept.get(id)
    if (!snapshot) throw new Error(`no snapshot ${id}`)
    return cloneOperations(snapshot.plc) // a copy: the new directory's will change
  }

  async take(args) {
    const plc = this.services.of(args.plc, 'plc')
    const pdses = args.pdses.map(({ id, dir }) => ({ service: this.services.of(id, 'pds'), dir }))
    // Work the PDSes queued after answering (none of it may land after the copy) is done first; the
    // requests that wrote the state were all answered, and their transactions committed, before this.
    await Promise.all(pdses.map(({ service }) => service.instance.ctx.backgroundQueue.processAll()))
    for (const { service, dir } of pdses) copyData(service.dataDir, dir)
    const id = `snapshot-${this.nextId++}`
    this.kept.set(id, { plc: cloneOperations(plc.db.contents), dirs: pdses.map(({ dir }) => dir) })
    return { id }
  }

  async drop(args) {
    const snapshot = this.kept.get(args.id)
    this.kept.delete(args.id)
    for (const dir of snapshot ? snapshot.dirs : []) fs.rmSync(dir, { recursive: true, force: true })
    return {}
  }

  commands() {
    return { 'snapshot.take': (args) => this.take(args), 'snapshot.drop': (args) => this.drop(args) }
  }
}

module.exports = { Snapshots, copyData }
