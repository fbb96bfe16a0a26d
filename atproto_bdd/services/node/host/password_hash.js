'use strict'
// Test-speed password hashing (the fast_password_hash setting, on by default): the PDS hashes a new
// password with scrypt (N=16384, r=8: 45-60 ms of CPU on the 2-CPU machine of bench/README.md), once
// per createAccount and per password change. Here its genSaltAndHash(password) is memoized per password:
// the first account with a password gets a real hash (random salt, real scrypt), later ones with the
// same password get that same "salt:hash" string, which is a valid scrypt hash of that very password.
// Nothing else changes: the PDS verifies passwords with its own code on every sign-in (scrypt again,
// unmemoized), so a wrong password is refused as before; app passwords are hashed by hashAppPassword
// with a salt derived from the account's DID and a password the PDS makes up at random, so a memo
// could never hit there and they are left alone. Hashing strength is not what an acceptance test
// tests (Django's testing docs advise a fast hasher for the same reason).
//
// The memo only pays when passwords repeat, so with the setting on the framework gives every account
// it makes without a password one random password per run (world/accounts.py). One host serves one
// run, whose PDSes all have the same setting: pds.start passes it, and it holds for the whole host.
//
// No file of the PDS package is edited; the seam is the loaded module, and differs per line:
//   - 0.4 (CommonJS): account-manager.js calls scrypt.genSaltAndHash() on the exports object of
//     account-manager/helpers/scrypt.js (__importStar returns that very object, since it has
//     __esModule), looked up at each call, so replacing the property on that object works.
//   - 0.5 (ES modules): account-manager.js does `import * as scrypt from './helpers/scrypt.js'`, and a
//     module namespace cannot be written to. A resolution hook (module.registerHooks, Node.js 22.15+)
//     answers every import of that file from the PDS's modules with password_hash_scrypt.js, which
//     re-exports the real module with genSaltAndHash wrapped; the real one is still loaded once.
// Where neither works (a Node.js 22 before 22.15, or a PDS whose files moved), hashing stays the PDS's
// own and the host says so (the command pds.passwordHashing answers seam: null).

const fs = require('node:fs')
const path = require('node:path')
const Module = require('node:module')
const { pathToFileURL } = require('node:url')

// Where the PDS keeps its scrypt helpers, relative to its main file (dist/index.js) on both lines.
const SCRYPT_FILE = path.join('account-manager', 'helpers', 'scrypt.js')
// How the wrapper imports the real module (answered by the hook below, never by Node.js). A bare name,
// not a URL of a scheme of ours: require(esm) asserts that a URL specifier is file:, node: or data:.
const REAL_SPECIFIER = '@atproto-bdd/pds-scrypt'
// Passwords remembered at most (a run has a handful: its own per-run password and the features' ones).
const MEMO_LIMIT = 1024

class PasswordHashing {
  constructor() {
    this.on = false
    this.seam = null // "exports" (0.4), "resolve-hook" (0.5), or null: not installed
    this.memo = new Map() // password -> Promise of "salt:hash"
    this.hits = 0
    this.misses = 0
  }

  // genSaltAndHash memoized per password while ``on``; the PDS's own function otherwise.
  wrap(genSaltAndHash) {
    const hashing = this
    return function genSaltAndHashMemoized(password) {
      if (!hashing.on || typeof password !== 'string') return genSaltAndHash.apply(this, arguments)
      let hashed = hashing.memo.get(password)
      if (hashed !== undefined) {
        hashing.hits++
        return hashed
      }
      hashing.misses++
      // The promise is kept at once: accounts created together with one password wait for one hash.
      hashed = Promise.resolve(genSaltAndHash.apply(this, arguments))
      hashed.catch(() => hashing.memo.delete(password)) // a failed hash is not remembered
      if (hashing.memo.size >= MEMO_LIMIT) hashing.memo.delete(hashing.memo.keys().next().value)
      hashing.memo.set(password, hashed)
      return hashed
    }
  }

  // What pds.start passes (the fast_password_hash setting); on only where a seam is installed.
  set(wanted) {
    if (wanted !== undefined) this.on = Boolean(wanted) && this.seam !== null
    return this.on
  }

  report() {
    return { on: this.on, seam: this.seam, hits: this.hits, misses: this.misses, passwords: this.memo.size }
  }
}

const hashing = new PasswordHashing()

// Installs the seam for the PDS in ``packages``: before the PDS is loaded (the 0.5 line's hook must
// see its imports), after the load cache's hooks (host.js), so that this hook runs first.
function installPasswordHashing(packages) {
  let scryptFile
  try {
    scryptFile = path.join(path.dirname(packages.requireDep.resolve('@atproto/pds')), SCRYPT_FILE)
  } catch {
    return hashing // no PDS in this install: pds.start fails with Node.js's own message
  }
  if (!fs.existsSync(scryptFile)) return hashing
  if (packages.isEsm('@atproto/pds')) installResolveHook(scryptFile)
  else patchExports(packages.requireDep(scryptFile))
  return hashing
}

// 0.4: the module's exports object, the one the PDS's modules call through.
function patchExports(scrypt) {
  const original = scrypt.genSaltAndHash
  if (typeof original !== 'function') return
  const wrapped = hashing.wrap(original)
  try {
    scrypt.genSaltAndHash = wrapped
  } catch {
    return // a read-only export (strict mode throws): hashing stays the PDS's own
  }
  if (scrypt.genSaltAndHash === wrapped) hashing.seam = 'exports'
}

// 0.5: imports of the scrypt module from the PDS's modules get the wrapper instead.
function installResolveHook(scryptFile) {
  if (typeof Module.registerHooks !== 'function') return
  const realUrl = pathToFileURL(fs.realpathSync(scryptFile)).href
  const wrapperUrl = pathToFileURL(path.join(__dirname, 'password_hash_scrypt.js')).href
  Module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === REAL_SPECIFIER) return { url: realUrl, format: 'module', shortCircuit: true }
      // Only a specifier naming a scrypt.js is looked at twice (``./helpers/scrypt.js``, ``../scrypt.js``).
      if (!specifier.endsWith('scrypt.js')) return nextResolve(specifier, context)
      const resolved = nextResolve(specifier, context)
      if (resolved.url !== realUrl) return resolved
      return { url: wrapperUrl, format: 'module', shortCircuit: true }
    },
  })
  hashing.seam = 'resolve-hook'
}

module.exports = { hashing, installPasswordHashing, REAL_SPECIFIER }
