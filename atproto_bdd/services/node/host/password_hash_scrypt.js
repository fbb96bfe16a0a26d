// An ES module in a .js file (the package data ships host/*.js): password_hash.js's resolution hook
// loads it with format "module", on the 0.5 line only. What the 0.5 line's PDS modules import instead
// of their account-manager/helpers/scrypt.js: that module's exports, with genSaltAndHash memoized per
// password while the fast_password_hash setting is on. '@atproto-bdd/pds-scrypt' is the real module
// (the same hook answers it).
import * as real from '@atproto-bdd/pds-scrypt'
import passwordHash from './password_hash.js'

export * from '@atproto-bdd/pds-scrypt'
export const genSaltAndHash = passwordHash.hashing.wrap(real.genSaltAndHash)
