#!/usr/bin/env node
// di-sign.mjs --key KEYPAIR.json --vm VM_ID [--created RFC3339] CREDENTIAL.json|-
//
// Adds a DataIntegrityProof (cryptosuite eddsa-rdfc-2022, proofPurpose
// assertionMethod) to the credential and prints the signed credential JSON.
// The credential is otherwise left as is (jsonld-signatures' sign, not
// vc.issue, so nothing such as issuanceDate is added).
//
// KEYPAIR.json: {"publicKeyMultibase": "z6Mk…", "secretKeyMultibase": "z…"}
// ("privateKeyMultibase" is accepted as an alias; the legacy 64-byte
// seed‖public secret works too), or an Ed25519 private JWK
// {"kty":"OKP","crv":"Ed25519","x":…,"d":…}.
// Without --created the proof gets the current time (seconds, "Z").
// Exit 0 signed, 1 failure, 2 unusable input.
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from
  '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import jsigs from 'jsonld-signatures';
import {
  EXIT_OK, UsageError, createDocumentLoader, main, parseArgs, parseJSON,
  readInput
} from './lib.mjs';

async function loadKey(kp, vm) {
  const [controller] = vm.split('#');
  if(kp.kty) {
    if(!kp.d) {
      throw new UsageError('JWK key has no private part "d"');
    }
    return Ed25519Multikey.fromJwk(
      {jwk: kp, secretKey: true, id: vm, controller});
  }
  const publicKeyMultibase = kp.publicKeyMultibase;
  const secretKeyMultibase = kp.secretKeyMultibase || kp.privateKeyMultibase;
  if(!publicKeyMultibase || !secretKeyMultibase) {
    throw new UsageError('key pair needs publicKeyMultibase and ' +
      'secretKeyMultibase (or privateKeyMultibase), or a private JWK');
  }
  return Ed25519Multikey.from({
    '@context': 'https://w3id.org/security/multikey/v1',
    type: 'Multikey', id: vm, controller, publicKeyMultibase,
    secretKeyMultibase
  });
}

await main(async () => {
  const {flags, positional} = parseArgs(process.argv.slice(2), {
    key: 'string', vm: 'string', created: 'string'
  });
  if(!flags.key || !flags.vm || positional.length !== 1) {
    throw new UsageError(
      'di-sign.mjs --key KEYPAIR.json --vm VM_ID [--created RFC3339] FILE|-');
  }
  const kp = parseJSON(await readInput(flags.key), 'key pair');
  const credential = parseJSON(await readInput(positional[0]), 'credential');
  if(!credential || typeof credential !== 'object' ||
    Array.isArray(credential)) {
    throw new UsageError('credential must be a JSON object');
  }
  if(flags.created !== undefined && isNaN(new Date(flags.created))) {
    throw new UsageError(`--created: bad date ${flags.created}`);
  }
  const key = await loadKey(kp, flags.vm);
  // Guard against a secret key that does not belong to the public key.
  const probe = new TextEncoder().encode('insigne-interop');
  const sig = await key.signer().sign({data: probe});
  if(!await key.verifier().verify({data: probe, signature: sig})) {
    throw new UsageError('secret key does not match publicKeyMultibase');
  }
  const suite = new DataIntegrityProof({
    signer: key.signer(), cryptosuite: eddsaRdfc2022,
    // a string is used verbatim as proof.created
    ...(flags.created !== undefined ? {date: flags.created} : {})
  });
  const signed = await jsigs.sign(credential, {
    suite,
    purpose: new jsigs.purposes.AssertionProofPurpose(),
    documentLoader: createDocumentLoader()
  });
  process.stdout.write(JSON.stringify(signed, null, 2) + '\n');
  return EXIT_OK;
}, {verifier: false});
