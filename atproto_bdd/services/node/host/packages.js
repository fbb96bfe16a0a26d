'use strict'
// The service packages, loaded from the install's node_modules once, when first needed.

const fs = require('node:fs')
const path = require('node:path')
const { createRequire } = require('node:module')
const { pathToFileURL } = require('node:url')

class Packages {
  constructor(nodeModules) {
    this.nodeModules = nodeModules
    this.requireDep = createRequire(path.join(nodeModules, 'noop.js'))
    this.loaded = new Map()
  }

  // A CommonJS package (the 0.4 line's PDS, the PLC server).
  require(name) {
    if (!this.loaded.has(name)) this.loaded.set(name, this.requireDep(name))
    return this.loaded.get(name)
  }

  // An ES module package (@atproto/bsky and its kin), imported by path: their "exports" allow only ".".
  async import(name) {
    if (!this.loaded.has(name)) this.loaded.set(name, await import(pathToFileURL(this.requireDep.resolve(name)).href))
    return this.loaded.get(name)
  }

  // The installed version of ``name``, from its package.json through the file system (some packages'
  // "exports" do not list it).
  version(name) {
    const dir = path.join(this.nodeModules, ...name.split('/'))
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
  }

  // Whether ``name`` is an ES module package ("type": "module"); false when it is not installed (its
  // load fails later, with Node.js's own message).
  isEsm(name) {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.nodeModules, name, 'package.json'), 'utf8')).type === 'module'
    } catch {
      return false
    }
  }
}

module.exports = { Packages }
