// age keys, found where sops finds them: SOPS_AGE_KEY (inline), SOPS_AGE_KEY_FILE, else
// the sops default key file. When there is none and no recipient is given, one X25519
// identity is created there: mode 0600, outside the repository, never inside it.
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { generateIdentity, isRecipient, recipientOf } from './age.ts';
import { fail } from './errors.ts';

const IDENTITY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;

/** The key file sops reads: SOPS_AGE_KEY_FILE, else $XDG_CONFIG_HOME or ~/.config /sops/age/keys.txt. */
export function ageKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SOPS_AGE_KEY_FILE) return env.SOPS_AGE_KEY_FILE;
  // sops (Go's os.UserConfigDir) finds no key file under a relative XDG_CONFIG_HOME.
  if (env.XDG_CONFIG_HOME && !isAbsolute(env.XDG_CONFIG_HOME)) {
    fail(
      `XDG_CONFIG_HOME is a relative path (${JSON.stringify(env.XDG_CONFIG_HOME)}), which sops does not accept for its age key file; make it absolute, or set SOPS_AGE_KEY_FILE`,
    );
  }
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'sops', 'age', 'keys.txt');
}

/** Every age identity available to this process (inline and from the key file). */
export function availableIdentities(env: NodeJS.ProcessEnv = process.env): string[] {
  const sources = [env.SOPS_AGE_KEY ?? ''];
  try {
    sources.push(readFileSync(ageKeyFile(env), 'utf8'));
  } catch {
    // no key file
  }
  return sources.flatMap((text) =>
    text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => IDENTITY.test(line)),
  );
}

/** Checks an age recipient as typed; `where` names its origin for the message. */
export function checkRecipient(recipient: string, where: string): string {
  if (isRecipient(recipient) && recipient === recipient.toLowerCase()) return recipient;
  return fail(
    `${where} ${JSON.stringify(recipient)} is not an age recipient (age1 followed by 58 characters); print yours with \`age-keygen -y KEYFILE\``,
  );
}

export function recipientsOf(identities: string[]): string[] {
  return [...new Set(identities.map(recipientOf))];
}

export interface NewIdentity {
  path: string;
  identity: string;
  recipient: string;
}

/** Generates an X25519 identity (post-quantum ones are beyond sops < 3.12). Nothing written. */
export function newIdentity(path: string): NewIdentity {
  const identity = generateIdentity();
  return { path, identity, recipient: recipientOf(identity) };
}

/**
 * Writes the identity as age-keygen does, readable by its owner only. Atomic: the file
 * appears whole or not at all, and never replaces one that another run made meanwhile
 * (then false: the caller plans again with that key).
 */
export function saveIdentity(key: NewIdentity, now: Date): boolean {
  const content = `# created: ${now.toISOString()}\n# public key: ${key.recipient}\n${key.identity}\n`;
  const temp = `${key.path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    mkdirSync(dirname(key.path), { recursive: true, mode: 0o700 });
    writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
    chmodSync(temp, 0o600);
    try {
      linkSync(temp, key.path); // fails if the file exists: no run's key is ever replaced
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      // A filesystem without hard links: an exclusive create (readers may see it half written).
      writeFileSync(key.path, content, { mode: 0o600, flag: 'wx' });
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    return fail(
      `cannot write the new age key file ${key.path} (${(error as NodeJS.ErrnoException).code}); make its directory writable, or point SOPS_AGE_KEY_FILE elsewhere`,
    );
  } finally {
    rmSync(temp, { force: true });
  }
}
