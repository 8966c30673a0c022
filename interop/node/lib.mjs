// Shared helpers for the interop scripts: an offline JSON-LD document loader,
// argument parsing and result printing.
//
// The document loader never touches the network, except for URLs under the
// origin given with --base-url (a server the Go tests run on loopback).
import {readFile} from 'node:fs/promises';
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

export const CONTEXTS_DIR = join(here, '..', '..', 'jsonld', 'contexts');
export const DID_V1 = 'https://www.w3.org/ns/did/v1';
export const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

// Exit codes shared by all scripts.
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

// UsageError marks unusable input (exit code 2).
export class UsageError extends Error {}

const urlMap = JSON.parse(
  readFileSync(join(CONTEXTS_DIR, 'url-map.json'), 'utf8'));

// Security vocab v1/v2 are only needed when jsonld-signatures frames a
// controller document that is not a DID document; they ship with
// jsonld-signatures' own dependency, so they stay offline too.
const securityContexts = require('@digitalbazaar/security-context').contexts;

const contextCache = new Map();

function loadContext(url) {
  if(contextCache.has(url)) {
    return contextCache.get(url);
  }
  let doc;
  if(Object.hasOwn(urlMap, url)) {
    doc = JSON.parse(readFileSync(join(CONTEXTS_DIR, urlMap[url]), 'utf8'));
  } else if(securityContexts.has(url)) {
    doc = securityContexts.get(url);
  } else {
    return undefined;
  }
  contextCache.set(url, doc);
  return doc;
}

function result(url, document) {
  return {contextUrl: null, documentUrl: url, document};
}

function splitFragment(url) {
  const i = url.indexOf('#');
  return i < 0 ? [url, ''] : [url.slice(0, i), url.slice(i + 1)];
}

// Ed25519 public keys as multibase (0xed01 multicodec, base58btc) start z6Mk.
function isEd25519Multibase(s) {
  return typeof s === 'string' && /^z6Mk[1-9A-HJ-NP-Za-km-z]+$/.test(s);
}

function multikey(id, controller, publicKeyMultibase) {
  return {
    '@context': MULTIKEY_V1,
    id,
    type: 'Multikey',
    controller,
    publicKeyMultibase
  };
}

// A controller document that authorises vmIds for assertionMethod. Its
// first @context is the DID context, so jsonld-signatures reads the
// verification relationships directly (no framing).
function controllerDoc(controller, vms) {
  return {
    '@context': [DID_V1, MULTIKEY_V1],
    id: controller,
    verificationMethod: vms.map(vm => {
      const {'@context': _, ...rest} = vm;
      return rest;
    }),
    assertionMethod: vms.map(vm => vm.id),
    authentication: vms.map(vm => vm.id)
  };
}

// did:key for Ed25519: did:key:z6Mk… (DID doc) or did:key:z6Mk…#z6Mk… (key).
function resolveDidKey(url) {
  const [did, fragment] = splitFragment(url);
  const mb = did.slice('did:key:'.length);
  if(!isEd25519Multibase(mb)) {
    throw new Error(`Unsupported did:key (only Ed25519 z6Mk… keys): ${url}`);
  }
  const vmId = `${did}#${mb}`;
  const vm = multikey(vmId, did, mb);
  if(fragment) {
    if(fragment !== mb) {
      throw new Error(`Unknown verification method in did:key: ${url}`);
    }
    return vm;
  }
  // The bare DID: the DID document, which also carries type/controller/
  // publicKeyMultibase itself so that a bare `did:key:z6Mk…` used as a
  // verificationMethod works too (the 1EdTech validator accepts that form).
  const doc = controllerDoc(did, [vm]);
  doc.type = 'Multikey';
  doc.controller = did;
  doc.publicKeyMultibase = mb;
  doc.assertionMethod.push(did);
  doc.authentication.push(did);
  return doc;
}

function findVerificationMethod(doc, vmId) {
  if(doc && doc.id === vmId) {
    return doc;
  }
  for(const prop of ['verificationMethod', 'assertionMethod',
    'authentication', 'publicKey']) {
    const vals = doc?.[prop];
    for(const v of Array.isArray(vals) ? vals : vals ? [vals] : []) {
      if(v && typeof v === 'object' && v.id === vmId) {
        const out = {...v};
        if(!out['@context']) {
          out['@context'] = doc['@context'];
        }
        return out;
      }
    }
  }
  return undefined;
}

// createDocumentLoader returns a jsonld.js-style documentLoader.
// Options: baseURL (string): fetch URLs under this origin over HTTP.
// log (array): receives every URL requested and how it was resolved.
export function createDocumentLoader({baseURL, log} = {}) {
  const origin = baseURL ? new URL(baseURL).origin : undefined;
  // controller id -> synthesized Multikey verification methods
  const synthesized = new Map();
  const note = entry => {
    if(log && !log.some(e => e.url === entry.url && e.via === entry.via)) {
      log.push(entry);
    }
  };

  async function fetchJSON(url) {
    const res = await fetch(url, {
      headers: {accept: 'application/ld+json, application/json;q=0.9'},
      redirect: 'manual'
    });
    if(!res.ok) {
      throw new Error(`GET ${url}: HTTP ${res.status}`);
    }
    return res.json();
  }

  function underOrigin(url) {
    if(!origin) {
      return false;
    }
    try {
      return new URL(url).origin === origin;
    } catch {
      return false;
    }
  }

  return async function documentLoader(url) {
    const ctx = loadContext(url);
    if(ctx !== undefined) {
      note({url, via: 'context'});
      return result(url, ctx);
    }
    if(underOrigin(url)) {
      const [base] = splitFragment(url);
      const doc = await fetchJSON(base);
      note({url, via: 'http'});
      if(base === url) {
        return result(url, doc);
      }
      const vm = findVerificationMethod(doc, url);
      if(!vm) {
        throw new Error(
          `Verification method ${url} not found in the document at ${base}`);
      }
      return result(url, vm);
    }
    if(url.startsWith('did:key:')) {
      note({url, via: 'did:key'});
      return result(url, resolveDidKey(url));
    }
    const [controller, fragment] = splitFragment(url);
    if(fragment && isEd25519Multibase(fragment)) {
      const vm = multikey(url, controller, fragment);
      const list = synthesized.get(controller) || [];
      if(!list.some(v => v.id === url)) {
        list.push(vm);
      }
      synthesized.set(controller, list);
      note({url, via: 'fragment-key'});
      return result(url, vm);
    }
    if(!fragment && synthesized.has(url)) {
      note({url, via: 'synthesized-controller'});
      return result(url, controllerDoc(url, synthesized.get(url)));
    }
    note({url, via: 'refused'});
    throw new Error(`Document loader refused (offline): ${url}`);
  };
}

// parseArgs: minimal flag parser. spec maps flag name -> 'string' | 'bool'.
export function parseArgs(argv, spec) {
  const flags = {};
  const positional = [];
  for(let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if(a === '-' || !a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    let [name, value] = a.slice(2).split(/=(.*)/s, 2);
    if(!Object.hasOwn(spec, name)) {
      throw new UsageError(`unknown flag --${name}`);
    }
    if(spec[name] === 'bool') {
      flags[name] = value === undefined ? true : value !== 'false';
      continue;
    }
    if(value === undefined) {
      if(i + 1 >= argv.length) {
        throw new UsageError(`flag --${name} needs a value`);
      }
      value = argv[++i];
    }
    flags[name] = value;
  }
  return {flags, positional};
}

// readInput reads a file, or stdin for '-'.
export async function readInput(path) {
  if(path === '-') {
    const chunks = [];
    for await (const c of process.stdin) {
      chunks.push(c);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(path, 'utf8');
  } catch(e) {
    throw new UsageError(`cannot read ${path}: ${e.message}`);
  }
}

export function parseJSON(text, what) {
  try {
    return JSON.parse(text);
  } catch(e) {
    throw new UsageError(`${what} is not valid JSON: ${e.message}`);
  }
}

// errorText flattens jsonld-signatures / vc errors into one line.
export function errorText(err) {
  if(!err) {
    return '';
  }
  const parts = [];
  const seen = new Set();
  const walk = e => {
    if(!e || seen.has(e)) {
      return;
    }
    seen.add(e);
    if(Array.isArray(e)) {
      e.forEach(walk);
      return;
    }
    if(Array.isArray(e.errors) && e.errors.length) {
      e.errors.forEach(walk);
      return;
    }
    const msg = e.message || String(e);
    if(!parts.includes(msg)) {
      parts.push(msg);
    }
    if(e.cause) {
      walk(e.cause);
    }
  };
  walk(err);
  return parts.join('; ');
}

export function printJSON(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// main wraps a script body. A UsageError exits 2, any other error 1; both
// print {"error": …} (plus "verified": false for verifiers) on stdout.
export async function main(fn, {verifier = true} = {}) {
  try {
    process.exitCode = await fn();
  } catch(e) {
    const usage = e instanceof UsageError;
    const out = verifier ? {verified: false} : {};
    out.error = usage ? `usage: ${e.message}` : errorText(e);
    printJSON(out);
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAIL;
  }
}
