// The short hashes that rendered objects carry in labels and annotations (the servers'
// configuration, the credentials a Job was made with) and that the record keeps.
import { createHash } from 'node:crypto';

// Hex is not safe here: a value such as 123e456 is a string to the writer that quotes it,
// but kustomize (kyaml) writes it back unquoted, because to Go it is no number it can hold
// (a float out of range), and a YAML 1.2 reader of the build then takes it for Infinity.
// Kubernetes' own pod-template-hash alphabet has no vowel, so no `e` and no word; the
// first character a consonant, so no reader takes the value for anything but a string.
const LETTERS = 'bcdfghjklmnpqrstvwxz';
const ALPHABET = `${LETTERS}2456789`;

/** A 16-character hash of `data` that every YAML reader takes for a string. */
export function shortHash(data: string): string {
  const bytes = createHash('sha256').update(data).digest();
  let out = LETTERS[bytes[0]! % LETTERS.length]!;
  for (let i = 1; i < 16; i++) out += ALPHABET[bytes[i]! % ALPHABET.length]!;
  return out;
}

/** What shortHash returns, for the record's validation. */
export const SHORT_HASH = /^[bcdfghjklmnpqrstvwxz][bcdfghjklmnpqrstvwxz2456789]{15}$/;
