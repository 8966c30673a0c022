#!/usr/bin/env node
// jwt-verify.mjs [--jwk PUBLIC_JWK.json | --embedded] [--alg ES256,EdDSA] TOKEN_FILE|-
//
// Verifies a compact JWS (e.g. an OB 3.0 VC-JWT) with panva/jose
// compactVerify. The key is the public JWK in a file (--jwk) or the `jwk`
// member of the protected header (--embedded, the default); an embedded
// JWK with a private part ("d") is rejected. Allowed algorithms default to
// ES256 and EdDSA. No claim (exp/nbf/iss…) checks: that is the caller's job.
// On success prints the payload (as sent, normally JSON) and exits 0;
// otherwise prints {"verified": false, "error": "…"} and exits 1 (bad
// signature / key / alg) or 2 (unusable input).
import {compactVerify, decodeProtectedHeader, importJWK} from 'jose';
import {
  EXIT_OK, UsageError, main, parseArgs, parseJSON, readInput
} from './lib.mjs';

await main(async () => {
  const {flags, positional} = parseArgs(process.argv.slice(2), {
    jwk: 'string', embedded: 'bool', alg: 'string'
  });
  if(positional.length !== 1 || (flags.jwk && flags.embedded)) {
    throw new UsageError(
      'jwt-verify.mjs [--jwk PUBLIC_JWK.json | --embedded] ' +
      '[--alg ES256,EdDSA] TOKEN_FILE|-');
  }
  const algorithms = (flags.alg || 'ES256,EdDSA').split(',')
    .map(s => s.trim()).filter(Boolean);
  const token = (await readInput(positional[0])).trim();

  try {
    decodeProtectedHeader(token);
  } catch(e) {
    throw new UsageError(`not a compact JWS: ${e.message}`);
  }
  if(token.split('.').length !== 3) {
    throw new UsageError('not a compact JWS (expected 3 parts)');
  }
  let given;
  if(flags.jwk) {
    given = parseJSON(await readInput(flags.jwk), 'JWK');
    if(given.d) {
      throw new UsageError('--jwk must be a public JWK (it has "d")');
    }
  }
  const getKey = async protectedHeader => {
    const jwk = given || protectedHeader.jwk;
    if(!jwk || typeof jwk !== 'object') {
      throw new Error('no key: protected header has no "jwk" (use --jwk)');
    }
    if(!given && jwk.d !== undefined) {
      throw new Error('embedded "jwk" contains a private key ("d")');
    }
    return importJWK(jwk, protectedHeader.alg);
  };
  const {payload} = await compactVerify(token, getKey, {algorithms});
  process.stdout.write(Buffer.from(payload).toString('utf8') + '\n');
  return EXIT_OK;
});
