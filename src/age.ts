// age (age-encryption.org/v1) for X25519 recipients, on node:crypto alone: the native
// primitives keep the scaffold fast (the age-encryption package loads post-quantum and
// curve code in JS that X25519 wrapping does not need). Only what sops uses: a small
// plaintext (its data key) encrypted to one recipient, armored, and the reverse.
// test/sops.test.ts checks it against the real sops (Go age) both ways, and against the
// age-encryption package.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

// ---- bech32 (BIP 173), for age1... recipients and AGE-SECRET-KEY-1... identities

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i]!;
  }
  return chk >>> 0;
}

const hrpExpand = (hrp: string) => [
  ...[...hrp].map((c) => c.charCodeAt(0) >> 5),
  0,
  ...[...hrp].map((c) => c.charCodeAt(0) & 31),
];

function convertBits(data: Uint8Array | number[], from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  for (const value of data) {
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & ((1 << to) - 1));
    }
  }
  if (pad && bits > 0) out.push((acc << (to - bits)) & ((1 << to) - 1));
  else if (!pad && (bits >= from || ((acc << (to - bits)) & ((1 << to) - 1)) !== 0)) return null;
  return out;
}

export function bech32Encode(hrp: string, bytes: Uint8Array): string {
  const data = convertBits(bytes, 8, 5, true)!;
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data, ...checksum].map((d) => CHARSET[d]).join('')}`;
}

/** The bytes of a bech32 string with this human-readable part, or null if it is not one. */
export function bech32Decode(text: string, hrp: string): Uint8Array | null {
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) return null;
  const sep = lower.lastIndexOf('1');
  if (lower.slice(0, sep) !== hrp.toLowerCase() || lower.length - sep < 7) return null;
  const data = [...lower.slice(sep + 1)].map((c) => CHARSET.indexOf(c));
  if (data.some((d) => d < 0) || polymod([...hrpExpand(hrp.toLowerCase()), ...data]) !== 1) return null;
  const bytes = convertBits(data.slice(0, -6), 5, 8, false);
  return bytes ? Uint8Array.from(bytes) : null;
}

// ---- X25519 keys as node:crypto KeyObjects (DER wrappers around the raw 32 bytes)

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

const privateKey = (raw: Uint8Array) =>
  createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
const publicKey = (raw: Uint8Array) =>
  createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
const rawPublic = (key: KeyObject) => key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);

const IDENTITY_HRP = 'AGE-SECRET-KEY-';

function identityBytes(identity: string): Uint8Array {
  const raw = bech32Decode(identity, IDENTITY_HRP);
  if (raw?.length !== 32) throw new Error('not an age X25519 identity');
  return raw;
}

/** The public recipient (age1...) of an identity (AGE-SECRET-KEY-1...). */
export function recipientOf(identity: string): string {
  return bech32Encode('age', rawPublic(createPublicKey(privateKey(identityBytes(identity)))));
}

export function generateIdentity(): string {
  const { privateKey: key } = generateKeyPairSync('x25519');
  const raw = key.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  return bech32Encode(IDENTITY_HRP.toLowerCase(), raw).toUpperCase();
}

export function isRecipient(text: string): boolean {
  return bech32Decode(text, 'age')?.length === 32;
}

// ---- the file format

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');
const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: string) => Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
const X25519_INFO = 'age-encryption.org/v1/X25519';

function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer {
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
}

const headerMac = (fileKey: Uint8Array, header: string) =>
  createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(header)
    .digest();

/** The one STREAM chunk of a payload below 64 KiB: counter 0, last-chunk flag set. */
const LAST_CHUNK_NONCE = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** Encrypts a small plaintext (at most 64 KiB) to one X25519 recipient, ASCII-armored. */
export function encryptArmored(plaintext: Uint8Array, recipient: string): string {
  const theirs = bech32Decode(recipient, 'age');
  if (theirs?.length !== 32) throw new Error(`not an age X25519 recipient: ${recipient}`);
  if (plaintext.length > 64 * 1024) throw new Error('encryptArmored handles one STREAM chunk only');
  const fileKey = randomBytes(16);
  const ephemeral = generateKeyPairSync('x25519');
  const share = rawPublic(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: publicKey(theirs) });
  const wrapKey = hkdf(shared, Buffer.concat([share, theirs]), X25519_INFO);
  const body = seal(wrapKey, Buffer.alloc(12), fileKey);
  const header = `age-encryption.org/v1\n-> X25519 ${b64(share)}\n${b64(body)}\n---`;
  const nonce = randomBytes(16);
  const payload = seal(hkdf(fileKey, nonce, 'payload'), LAST_CHUNK_NONCE, plaintext);
  const file = Buffer.concat([Buffer.from(`${header} ${b64(headerMac(fileKey, header))}\n`), nonce, payload]);
  const lines = file.toString('base64').match(/.{1,64}/g)!;
  return `-----BEGIN AGE ENCRYPTED FILE-----\n${lines.join('\n')}\n-----END AGE ENCRYPTED FILE-----\n`;
}

/**
 * Decrypts an armored age file with any of the X25519 identities; null when none of them
 * is a recipient. Throws when the file is malformed or does not authenticate.
 */
export function decryptArmored(armored: string, identities: string[]): Buffer | null {
  const m = /-----BEGIN AGE ENCRYPTED FILE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END AGE ENCRYPTED FILE-----/.exec(
    armored,
  );
  if (!m) throw new Error('not an armored age file');
  const file = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const end = file.indexOf('\n---');
  if (end < 0) throw new Error('age header without MAC');
  const headerEnd = file.indexOf('\n', end + 1);
  const header = file.subarray(0, end + 4).toString('latin1');
  const mac = Buffer.from(file.subarray(end + 5, headerEnd).toString('latin1'), 'base64');
  const lines = header.split('\n');
  if (lines[0] !== 'age-encryption.org/v1') throw new Error('not an age v1 file');
  const stanzas: { share: Buffer; body: Buffer }[] = [];
  for (let i = 1; i < lines.length - 1; i++) {
    const args = lines[i]!.split(' ');
    let body = '';
    while (i + 1 < lines.length - 1 && !lines[i + 1]!.startsWith('-> ')) body += lines[++i];
    if (args[1] === 'X25519' && args[2])
      stanzas.push({ share: Buffer.from(args[2], 'base64'), body: Buffer.from(body, 'base64') });
  }
  for (const identity of identities) {
    const mine = privateKey(identityBytes(identity));
    const ours = rawPublic(createPublicKey(mine));
    for (const { share, body } of stanzas) {
      let fileKey: Buffer;
      try {
        const shared = diffieHellman({ privateKey: mine, publicKey: publicKey(share) });
        fileKey = open(hkdf(shared, Buffer.concat([share, ours]), X25519_INFO), Buffer.alloc(12), body);
      } catch {
        continue; // another recipient's stanza
      }
      const expected = headerMac(fileKey, header);
      if (mac.length !== expected.length || !timingSafeEqual(mac, expected))
        throw new Error('the age header MAC does not match');
      const payload = file.subarray(headerEnd + 1);
      return open(hkdf(fileKey, payload.subarray(0, 16), 'payload'), LAST_CHUNK_NONCE, payload.subarray(16));
    }
  }
  return null;
}
