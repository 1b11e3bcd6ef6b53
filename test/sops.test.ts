// Sealed secrets against the real sops (pinned, built by tools/install.sh): what we
// encrypt, sops decrypts and verifies; what sops encrypts, we verify and decrypt; and the
// scaffolder's whole cycle: generate, keep, edit, rotate, re-key, refuse.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { decryptArmored, encryptArmored, generateIdentity, isRecipient, recipientOf } from '../src/age.ts';
import { verifyHtpasswd } from '../src/render/sealed.ts';
import { encryptDocument, rewrapDocument, unwrapDataKey, verifyDocument } from '../src/sops.ts';
import { metricsToken } from '../src/render/metrics.ts';
import { run, snapshot } from './run.ts';
import { needTool, tempDir } from './tools.ts';

interface Key {
  file: string;
  identity: string;
  recipient: string;
}

async function newKey(dir: string, name: string): Promise<Key> {
  const identity = await generateX25519Identity();
  const file = join(dir, `${name}.txt`);
  writeFileSync(file, `${identity}\n`, { mode: 0o600 });
  return { file, identity, recipient: await identityToRecipient(identity) };
}

/** `sops -d` with only this key: it checks the MAC and fails the test when it does not match. */
function sopsDecrypt(sops: string, file: string, key: Key, extra: string[] = []): Record<string, unknown> {
  const out = execFileSync(sops, ['decrypt', ...extra, '--output-type', 'json', file], {
    encoding: 'utf8',
    env: { ...process.env, SOPS_AGE_KEY_FILE: key.file },
  });
  return JSON.parse(out);
}

const TRICKY = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'tricky', labels: { a: 'b' } },
  type: 'Opaque',
  stringData: {
    text: 'hello',
    empty: '',
    multiline: 'line one\nline two\n',
    unicode: 'café ✓ 😀 日本',
    quote: 'it\'s "quoted" \\ back',
    integer: 42,
    negative: -7,
    float: 1.5,
    tiny: 1e-7,
    yes: true,
    no: false,
    nested: { deeper: { list: ['a', 2, { k: 'v' }, ''] } },
  },
  data: { blob: 'aGVsbG8gd29ybGQ=' },
};

describe('age on node:crypto (src/age.ts) against the age-encryption package', () => {
  it('derives the same recipients, and each side decrypts what the other encrypts', async () => {
    const { Decrypter, Encrypter, armor } = await import('age-encryption');
    const theirs = await generateX25519Identity();
    const mine = generateIdentity();
    expect(recipientOf(theirs)).toBe(await identityToRecipient(theirs));
    expect(recipientOf(mine)).toBe(await identityToRecipient(mine));
    expect(mine).toMatch(/^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/);
    const data = randomBytes(32);

    const decrypter = new Decrypter();
    decrypter.addIdentity(theirs);
    expect(
      Buffer.from(await decrypter.decrypt(armor.decode(encryptArmored(data, recipientOf(theirs))), 'uint8array')),
    ).toEqual(data);

    const encrypter = new Encrypter();
    encrypter.addRecipient(recipientOf(mine));
    const armored = armor.encode(await encrypter.encrypt(data));
    expect(decryptArmored(armored, [mine])).toEqual(data);
    expect(decryptArmored(armored, [theirs])).toBeNull(); // not a recipient
    // One character of the payload changed: the AEAD tag no longer matches.
    const lines = armored.split('\n');
    const last = lines.length - 3; // the last base64 line, before END and the final newline
    lines[last] = (lines[last]![0] === 'A' ? 'B' : 'A') + lines[last]!.slice(1);
    expect(() => decryptArmored(lines.join('\n'), [mine])).toThrow();
  });

  it('checks recipients by their bech32 checksum', () => {
    const good = recipientOf(generateIdentity());
    expect(isRecipient(good)).toBe(true);
    expect(isRecipient(good.slice(0, -1) + (good.endsWith('q') ? 'p' : 'q'))).toBe(false);
    expect(isRecipient('age1notarecipient')).toBe(false);
  });
});

describe('interop with the real sops', () => {
  it('sops -d decrypts what we encrypt, MAC checked, to exactly our plaintext: strings, numbers, booleans, multi-line, unicode, empty strings, nested maps and lists', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const dir = tempDir();
    const key = await newKey(dir, 'key');
    const file = join(dir, 'secret.yaml');
    writeFileSync(file, encryptDocument(TRICKY, [key.recipient], new Date('2026-11-21T10:00:00Z')));
    expect(sopsDecrypt(sops, file, key)).toEqual(TRICKY);
    // Only data and stringData are encrypted; the rest stays readable for Flux and KSOPS.
    const stored = YAML.parse(readFileSync(file, 'utf8'));
    expect(stored.metadata).toEqual(TRICKY.metadata);
    expect(stored.stringData.text).toMatch(/^ENC\[AES256_GCM,data:.*,type:str\]$/);
    expect(stored.stringData.integer).toMatch(/type:int\]$/);
    expect(stored.stringData.yes).toMatch(/type:bool\]$/);
    expect(stored.stringData.float).toMatch(/type:float\]$/);
    expect(stored.stringData.empty).toBe('');
    expect(stored.sops).toMatchObject({
      lastmodified: '2026-11-21T10:00:00Z',
      encrypted_regex: '^(data|stringData)$',
      version: '3.9.4',
    });
  });

  it('we verify and decrypt what sops -e encrypts, and detect a tampered copy', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const dir = tempDir();
    const key = await newKey(dir, 'key');
    const plain = join(dir, 'plain.yaml');
    writeFileSync(plain, YAML.stringify(TRICKY));
    // cwd: sops looks for a .sops.yaml upwards from there, and the repository has one.
    const encrypted = execFileSync(
      sops,
      ['encrypt', '--age', key.recipient, '--encrypted-regex', '^(data|stringData)$', plain],
      { encoding: 'utf8', cwd: dir },
    );
    const doc = YAML.parse(encrypted);
    const found = unwrapDataKey(doc.sops, [key.identity]);
    expect(found).not.toBeNull();
    expect(verifyDocument(doc, found!.dataKey)).toBeNull(); // our MAC equals sops's
    const { decryptSops } = await import('sops-age');
    const values = await decryptSops(encrypted, { fileType: 'yaml', secretKey: key.identity });
    delete values.sops;
    expect(values).toEqual(TRICKY);

    const tampered = YAML.parse(encrypted.replace('a: b', 'a: c'));
    expect(verifyDocument(tampered, found!.dataKey)).toBe('the MAC does not match the content');
    expect(unwrapDataKey(doc.sops, [(await newKey(dir, 'other')).identity])).toBeNull();
  });

  it('re-wrapping for new recipients keeps values and MAC: the new key decrypts, the removed one cannot', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const dir = tempDir();
    const [a, b] = [await newKey(dir, 'a'), await newKey(dir, 'b')];
    const file = join(dir, 'secret.yaml');
    const original = encryptDocument(TRICKY, [a.recipient], new Date('2026-11-21T10:00:00Z'));
    const doc = YAML.parse(original);
    const { dataKey } = unwrapDataKey(doc.sops, [a.identity])!;
    writeFileSync(file, rewrapDocument(doc, dataKey, [b.recipient]));
    expect(sopsDecrypt(sops, file, b)).toEqual(TRICKY);
    expect(() => sopsDecrypt(sops, file, a)).toThrow();
    const rewrapped = YAML.parse(readFileSync(file, 'utf8'));
    expect(rewrapped.stringData).toEqual(doc.stringData);
    expect(rewrapped.sops.mac).toBe(doc.sops.mac);
  });
});

/** A prod scaffold sealed to a team key of the test's own: the output, the key, its env. */
async function sealedProd(extra: string[] = []) {
  const out = tempDir();
  const key = await newKey(tempDir(), 'team');
  const env = { SOPS_AGE_KEY_FILE: key.file };
  const r = run(['--env', 'prod', ...extra, '--age-recipient', key.recipient, '--out', out], env);
  expect(r.code, r.stderr).toBe(0);
  return { out, key, env, first: r };
}

/** The values of every sealed file in the tree, decrypted by the real sops. */
function sealedValues(sops: string, out: string, key: Key): Record<string, Record<string, string>> {
  const files = Object.keys(snapshot(out)).filter((p) => /^sealed\/.*\/minio-.*\.yaml$/.test(p));
  return Object.fromEntries(
    files.map((p) => [p, sopsDecrypt(sops, join(out, p), key).stringData as Record<string, string>]),
  );
}

describe('scaffold --secrets sops', () => {
  it('generates strong credentials, writes them only encrypted, and never changes a byte on a re-run; no value leaks into the tree or git history', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const out = tempDir();
    const key = await newKey(tempDir(), 'team');
    const env = { SOPS_AGE_KEY_FILE: key.file };
    execFileSync('git', ['init', '-q', out]);
    const first = run(['--env', 'prod', '--age-recipient', key.recipient, '--out', out], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/generated new credentials: root, kms, console, flink, spark, iceberg, metrics \(/);

    const values = sealedValues(sops, out, key);
    expect(Object.keys(values).sort()).toEqual([
      'sealed/prod/bootstrap/minio-consumer-flink.yaml',
      'sealed/prod/bootstrap/minio-consumer-iceberg.yaml',
      'sealed/prod/bootstrap/minio-consumer-spark.yaml',
      'sealed/prod/bootstrap/minio-metrics-credentials.yaml',
      'sealed/prod/consumers/minio-s3-credentials-flink.yaml',
      'sealed/prod/consumers/minio-s3-credentials-iceberg.yaml',
      'sealed/prod/consumers/minio-s3-credentials-spark.yaml',
      'sealed/prod/minio-console-basic-auth.yaml',
      'sealed/prod/minio-kms-key.yaml',
      'sealed/prod/minio-root-credentials.yaml',
    ]);
    expect(values['sealed/prod/minio-kms-key.yaml']).toEqual({
      kmsSecretKey: expect.stringMatching(/^minio-kms:[A-Za-z0-9+/]{43}=$/),
    });
    // The metrics user's: a generated secret key, and the token made from it.
    const metrics = values['sealed/prod/bootstrap/minio-metrics-credentials.yaml']!;
    expect(metrics).toEqual({
      's3.access-key': 'minio-metrics',
      's3.secret-key': expect.stringMatching(/^[A-Za-z0-9]{40}$/),
      token: metricsToken('minio-metrics', metrics['s3.secret-key']!),
    });
    // A consumer's two Secrets (its namespace, and MinIO's for the bootstrap) hold one credential.
    for (const c of ['flink', 'spark', 'iceberg']) {
      const mirror = values[`sealed/prod/bootstrap/minio-consumer-${c}.yaml`]!;
      expect(mirror).toEqual({ 's3.access-key': c, 's3.secret-key': expect.stringMatching(/^[A-Za-z0-9]{40}$/) });
      expect(values[`sealed/prod/consumers/minio-s3-credentials-${c}.yaml`]).toEqual({
        's3.access-key': c,
        's3.secret-key': mirror['s3.secret-key'],
        's3.endpoint': 'https://minio.minio.svc.cluster.local:9000',
        AWS_ACCESS_KEY_ID: c,
        AWS_SECRET_ACCESS_KEY: mirror['s3.secret-key'],
        AWS_REGION: 'us-east-1',
      });
    }
    const root = values['sealed/prod/minio-root-credentials.yaml']!;
    expect(root.rootUser).toMatch(/^root-[a-z0-9]{12}$/);
    expect(root.rootPassword).toMatch(/^[A-Za-z0-9]{40}$/);
    const consoleAuth = values['sealed/prod/minio-console-basic-auth.yaml']!;
    expect(consoleAuth.auth).toMatch(/^admin:\$apr1\$[./0-9A-Za-z]{8}\$[./0-9A-Za-z]{22}\n$/);
    expect(verifyHtpasswd(consoleAuth.auth!, 'admin', consoleAuth.password!)).toBe(true);

    const secrets = Object.values(values)
      .flatMap((v) =>
        Object.entries(v)
          .filter(([k]) => k !== 's3.endpoint' && k !== 's3.access-key')
          .map(([, value]) => value),
      )
      .filter((v) => v.length >= 12);
    // The scaffolder committed its files (branch scaffold/prod): its history must hold no value.
    expect(execFileSync('git', ['-C', out, 'branch', '--show-current'], { encoding: 'utf8' }).trim()).toBe(
      'scaffold/prod',
    );
    const history = execFileSync('git', ['-C', out, 'log', '-p', '--all'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const tree = Object.values(snapshot(out))
      .map((f) => f.content)
      .join('\n');
    for (const secret of secrets) {
      expect(tree.includes(secret), 'a credential in the tree').toBe(false);
      expect(history.includes(secret), 'a credential in git log -p').toBe(false);
    }

    const before = snapshot(out);
    const again = run(['--env', 'prod', '--out', out], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 created, 0 updated, 0 deleted/);
    expect(snapshot(out)).toEqual(before);
    expect(execFileSync('git', ['-C', out, 'status', '--porcelain'], { encoding: 'utf8' })).toBe('');
  });

  it('--rotate changes only the rotated credential', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const { out, key, env } = await sealedProd();
    const before = snapshot(out);
    const valuesBefore = sealedValues(sops, out, key);
    const r = run(['--env', 'prod', '--rotate', 'root', '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    const changed = Object.keys(snapshot(out)).filter((p) => snapshot(out)[p]!.content !== before[p]?.content);
    // The servers' configuration label carries a checksum of the root credentials: they restart with the new ones.
    expect(changed.sort()).toEqual([
      'overlays/prod/minio/patch-restarter.yaml',
      'overlays/prod/minio/patch-server.yaml',
      'scaffold.lock.yaml',
      'sealed/prod/minio-root-credentials.yaml',
    ]);
    const valuesAfter = sealedValues(sops, out, key);
    expect(valuesAfter['sealed/prod/minio-root-credentials.yaml']!.rootPassword).not.toBe(
      valuesBefore['sealed/prod/minio-root-credentials.yaml']!.rootPassword,
    );
    expect(valuesAfter['sealed/prod/minio-root-credentials.yaml']!.rootUser).not.toBe(
      valuesBefore['sealed/prod/minio-root-credentials.yaml']!.rootUser,
    );
    expect(valuesAfter['sealed/prod/minio-console-basic-auth.yaml']).toEqual(
      valuesBefore['sealed/prod/minio-console-basic-auth.yaml'],
    );

    const all = run(['--env', 'prod', '--rotate', 'all', '--out', out], env);
    expect(all.stdout).toMatch(/generated new credentials: root, console/);
  });

  it('adding and removing a recipient re-wraps the data keys only; .sops.yaml follows', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const out = tempDir();
    const dir = tempDir();
    const [a, b] = [await newKey(dir, 'a'), await newKey(dir, 'b')];
    expect(
      run(['--env', 'prod', '--age-recipient', a.recipient, '--out', out], { SOPS_AGE_KEY_FILE: a.file }).code,
    ).toBe(0);
    const values = sealedValues(sops, out, a);
    const encryptedBefore = YAML.parse(readFileSync(join(out, 'sealed/prod/minio-root-credentials.yaml'), 'utf8'));

    expect(
      run(['--env', 'prod', '--age-recipient', a.recipient, '--age-recipient', b.recipient, '--out', out], {
        SOPS_AGE_KEY_FILE: a.file,
      }).code,
    ).toBe(0);
    expect(sealedValues(sops, out, b)).toEqual(values);
    expect(readFileSync(join(out, '.sops.yaml'), 'utf8')).toContain(`age: ${a.recipient},${b.recipient}`);
    const both = YAML.parse(readFileSync(join(out, 'sealed/prod/minio-root-credentials.yaml'), 'utf8'));
    expect(both.stringData).toEqual(encryptedBefore.stringData); // same ciphertext: values untouched
    expect(both.sops.mac).toBe(encryptedBefore.sops.mac);

    // b alone, run by b: a can no longer read them.
    expect(
      run(['--env', 'prod', '--age-recipient', b.recipient, '--out', out], { SOPS_AGE_KEY_FILE: b.file }).code,
    ).toBe(0);
    expect(sealedValues(sops, out, b)).toEqual(values);
    expect(() => sealedValues(sops, out, a)).toThrow();
    // Without flags the recipients come from .sops.yaml: nothing changes.
    const before = snapshot(out);
    expect(run(['--env', 'prod', '--out', out], { SOPS_AGE_KEY_FILE: b.file }).stdout).toMatch(
      /0 created, 0 updated, 0 deleted/,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it('keeps a value edited with sops, and builds no conflict out of it', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const { out, key, env } = await sealedProd();
    const file = join(out, 'sealed/prod/minio-root-credentials.yaml');
    execFileSync(sops, ['set', file, '["stringData"]["rootPassword"]', '"chosen-by-a-person-2026"'], {
      env: { ...process.env, SOPS_AGE_KEY_FILE: key.file },
    });
    const edited = readFileSync(file, 'utf8');
    const r = run(['--env', 'prod', '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(edited);
    expect(sopsDecrypt(sops, file, key).stringData).toMatchObject({ rootPassword: 'chosen-by-a-person-2026' });
  });

  it('on a machine without the key, keeps the sealed files; asks for the key only when they must be encrypted anew', async () => {
    const out = tempDir();
    const key = await newKey(tempDir(), 'team');
    expect(
      run(['--env', 'prod', '--age-recipient', key.recipient, '--out', out], { SOPS_AGE_KEY_FILE: key.file }).code,
    ).toBe(0);
    const noKey = { SOPS_AGE_KEY_FILE: join(tempDir(), 'none.txt') };
    const before = snapshot(out);
    const r = run(['--env', 'prod', '--size', '20Gi', '--out', out], noKey);
    expect(r.code, r.stderr).toBe(0);
    for (const p of Object.keys(before).filter((x) => x.startsWith('sealed/')))
      expect(snapshot(out)[p]).toEqual(before[p]);
    expect(existsSync(noKey.SOPS_AGE_KEY_FILE)).toBe(false); // recipients come from .sops.yaml: no key is made

    // Only the metadata changes: the fix is the key (the values stay), not new credentials.
    const moved = run(['--env', 'prod', '--namespace', 'storage', '--leave-data-behind', '--out', out], noKey);
    expect(moved.code).toBe(2);
    expect(moved.stderr).toBe(
      `error: sealed/prod/minio-root-credentials.yaml must be encrypted anew (its metadata.namespace changes), which needs its values, and no age key is available (SOPS_AGE_KEY, or the key file ${noKey.SOPS_AGE_KEY_FILE} (SOPS_AGE_KEY_FILE)); load the key of one of its recipients (${key.recipient}), or have a holder of that key run this\n`,
    );
    expect(moved.stderr).not.toContain('--rotate');
  });

  it('--check without the key, when sealed files must be encrypted anew (a changed namespace): drift for a key holder (exit 1), not an error', async () => {
    const out = tempDir();
    const key = await newKey(tempDir(), 'team');
    expect(
      run(['--env', 'prod', '--age-recipient', key.recipient, '--out', out], { SOPS_AGE_KEY_FILE: key.file }).code,
    ).toBe(0);
    // A pull request moves the env to another namespace; CI checks it without the key.
    const config = join(out, 'scaffold.config.yaml');
    const text = readFileSync(config, 'utf8');
    expect(text.split('    namespace: minio\n')).toHaveLength(2);
    writeFileSync(config, text.replace('    namespace: minio\n', '    namespace: storage\n'));
    const noKey = { SOPS_AGE_KEY_FILE: join(tempDir(), 'none.txt') };
    const before = snapshot(out);
    // (The pull request moved the data's namespace by hand: the check is told that is meant.)
    const check = run(['--env', 'prod', '--check', '--leave-data-behind', '--out', out], noKey);
    expect(check.stderr).not.toMatch(/error/);
    expect(check.code, check.stderr).toBe(1);
    expect(check.stdout).toMatch(/^update sealed\/prod\/minio-root-credentials\.yaml/m);
    expect(check.stderr).toContain('note: sealed/prod/minio-root-credentials.yaml must be encrypted anew');
    expect(check.stdout).toMatch(
      /^env prod in \S+ is not what scaffold\.config\.yaml renders: .*; run `npx zx scaffold\.ts --env prod` and commit$/m,
    );
    expect(snapshot(out)).toEqual(before);
    expect(existsSync(noKey.SOPS_AGE_KEY_FILE)).toBe(false);

    // The plan's notes say which files need a key holder, and why (one line each): those in
    // MinIO's namespace move, the consumers' Secrets (in their own) carry its name.
    const { parseFlags } = await import('../src/args.ts');
    const { planRun } = await import('../src/plan-run.ts');
    const saved = process.env.SOPS_AGE_KEY_FILE;
    process.env.SOPS_AGE_KEY_FILE = noKey.SOPS_AGE_KEY_FILE;
    let notes: string[];
    try {
      notes =
        (
          await planRun(out, {
            ...parseFlags(['--env', 'prod', '--check', '--leave-data-behind', '--out', out]),
            force: true,
          })
        ).secrets.notes ?? [];
    } finally {
      if (saved === undefined) delete process.env.SOPS_AGE_KEY_FILE;
      else process.env.SOPS_AGE_KEY_FILE = saved;
    }
    const note = (file: string, why: string) =>
      `${file} must be encrypted anew (${why}), which needs its values, and no age key is available here: a holder of the age key must run \`npx zx scaffold.ts --env prod\` and commit`;
    const sealed = Object.keys(before).filter(
      (f) => f.startsWith('sealed/prod/') && !f.endsWith('/kustomization.yaml'),
    );
    expect(sealed).toHaveLength(10); // root, KMS key, console, metrics, and each default consumer's Secret and its copy for the Job
    expect(notes.map((n) => n.split(' ')[0]).sort()).toEqual(sealed.sort());
    expect(notes).toContain(note('sealed/prod/minio-root-credentials.yaml', 'its metadata.namespace changes'));
    expect(notes).toContain(note('sealed/prod/minio-console-basic-auth.yaml', 'its metadata.namespace changes'));
    // The consumers' Secrets also hold MinIO's endpoint, which names the namespace.
    for (const n of notes) {
      const file = n.split(' ')[0]!;
      if (file.startsWith('sealed/prod/consumers/'))
        expect(n).toBe(note(file, 'its metadata.name changes; its s3.endpoint value changes'));
      else expect(n).toBe(note(file, 'its metadata.namespace changes'));
    }

    // The key holder's run re-encrypts them (the values kept), and --check is green again, without the key too.
    const fixed = run(['--env', 'prod', '--leave-data-behind', '--out', out], { SOPS_AGE_KEY_FILE: key.file });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(run(['--env', 'prod', '--check', '--out', out], noKey).code).toBe(0);
  });

  it('makes an age key only when there is none, outside the repository, mode 0600; --dry-run makes none', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const keyFile = join(tempDir(), 'sops', 'age', 'keys.txt');
    const dry = run(['--env', 'prod', '--dry-run', '--out', join(tempDir(), 'repo')], { SOPS_AGE_KEY_FILE: keyFile });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^create sealed\/prod\/minio-root-credentials\.yaml {2}\(encrypted; no diff shown\)$/m);
    expect(dry.stdout).toMatch(/would create an age key for sops/);
    expect(existsSync(keyFile)).toBe(false);

    const out = tempDir();
    const r = run(['--env', 'prod', '--out', out], { SOPS_AGE_KEY_FILE: keyFile });
    expect(r.code, r.stderr).toBe(0);
    const recipient = /recipient: (age1\w+)/.exec(r.stdout)![1]!;
    expect(r.stdout).toContain(
      `kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=${keyFile}`,
    );
    expect((await import('node:fs')).statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, '.sops.yaml'), 'utf8')).toContain(`age: ${recipient}`);
    const identity = readFileSync(keyFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    expect(Object.values(snapshot(out)).some((f) => f.content.includes(identity))).toBe(false);
    expect(
      sopsDecrypt(sops, join(out, 'sealed/prod/minio-root-credentials.yaml'), { file: keyFile, identity, recipient })
        .kind,
    ).toBe('Secret');
  });

  it('for Argo CD, sealed/<env>/ holds a KSOPS generator listing the sealed files', async () => {
    const out = tempDir();
    const key = await newKey(tempDir(), 'team');
    expect(
      run(['--env', 'prod', '--gitops', 'argocd', '--age-recipient', key.recipient, '--out', out], {
        SOPS_AGE_KEY_FILE: key.file,
      }).code,
    ).toBe(0);
    expect(YAML.parse(readFileSync(join(out, 'sealed/prod/kustomization.yaml'), 'utf8'))).toMatchObject({
      generators: ['secret-generator.yaml'],
    });
    expect(YAML.parse(readFileSync(join(out, 'sealed/prod/secret-generator.yaml'), 'utf8'))).toEqual({
      apiVersion: 'viaduct.ai/v1',
      kind: 'ksops',
      metadata: {
        name: 'minio-sealed-secrets',
        annotations: { 'config.kubernetes.io/function': 'exec:\n  path: ksops\n' },
      },
      files: ['./minio-root-credentials.yaml', './minio-kms-key.yaml', './minio-console-basic-auth.yaml'],
    });
    expect(readFileSync(join(out, 'overlays/prod/README.md'), 'utf8')).toMatch(/--enable-alpha-plugins --enable-exec/);
  });
});

describe('bad input for sealed secrets: one line, exit 2, nothing changed', () => {
  const cases: [
    string,
    (k: { a: Key; b: Key; out: string }) => { args: string[]; env: Record<string, string> },
    RegExp,
  ][] = [
    [
      'a malformed recipient',
      ({ a }) => ({
        args: ['--env', 'prod', '--age-recipient', 'age1notarecipient'],
        env: { SOPS_AGE_KEY_FILE: a.file },
      }),
      /--age-recipient "age1notarecipient" is not an age recipient .*age-keygen -y/,
    ],
    [
      'a .sops.yaml that does not cover sealed/',
      ({ a, out }) => {
        writeFileSync(
          join(out, '.sops.yaml'),
          `creation_rules:\n  - path_regex: ^secrets/.*\n    age: ${a.recipient}\n`,
        );
        return { args: ['--env', 'prod'], env: { SOPS_AGE_KEY_FILE: a.file } };
      },
      /\.sops\.yaml has no creation rule that covers sealed\/prod\/minio-root-credentials\.yaml; add one first/,
    ],
    [
      'a change to a file no available key opens',
      ({ b }) => ({
        args: ['--env', 'prod', '--namespace', 'storage', '--leave-data-behind'],
        env: { SOPS_AGE_KEY_FILE: b.file },
      }),
      /sealed\/prod\/minio-root-credentials\.yaml must be encrypted anew \(its metadata\.namespace changes\), which needs its values, and none of the age keys here opens it \(SOPS_AGE_KEY, or the key file .*\); load the key of one of its recipients \(age1\w+\), or have a holder/,
    ],
    [
      'a tampered file (MAC mismatch)',
      ({ a, out }) => {
        const file = join(out, 'sealed/prod/minio-root-credentials.yaml');
        writeFileSync(
          file,
          readFileSync(file, 'utf8').replace(
            'app.kubernetes.io/component: credentials',
            'app.kubernetes.io/component: tampered',
          ),
        );
        return { args: ['--env', 'prod'], env: { SOPS_AGE_KEY_FILE: a.file } };
      },
      /sealed\/prod\/minio-root-credentials\.yaml fails its integrity check \(the MAC does not match the content\): it was changed outside sops; restore it with git/,
    ],
    [
      'a value that does not decrypt',
      ({ a, out }) => {
        const file = join(out, 'sealed/prod/minio-root-credentials.yaml');
        const text = readFileSync(file, 'utf8');
        const values = [...text.matchAll(/(rootUser|rootPassword): "(ENC\[[^"]+\])"/g)];
        writeFileSync(
          file,
          text.replace(values[0]![2]!, 'TMP').replace(values[1]![2]!, values[0]![2]!).replace('TMP', values[1]![2]!),
        );
        return { args: ['--env', 'prod'], env: { SOPS_AGE_KEY_FILE: a.file } };
      },
      /fails its integrity check \(the value at stringData\.root(User|Password) does not decrypt\)/,
    ],
    [
      '--rotate of an unknown credential',
      ({ a }) => ({ args: ['--env', 'prod', '--rotate', 'admin'], env: { SOPS_AGE_KEY_FILE: a.file } }),
      /--rotate admin: env prod has no such credential; use one of: root, console, flink, spark, iceberg, metrics, all/,
    ],
    [
      '--rotate for an env without sealed secrets',
      ({ a }) => ({ args: ['--env', 'dev', '--rotate', 'root'], env: { SOPS_AGE_KEY_FILE: a.file } }),
      /--rotate works on SOPS-sealed credentials, but env dev uses --secrets plain; use --secrets sops/,
    ],
  ];

  it.for(cases)('%s', async ([, prepare, message]) => {
    const out = tempDir();
    const dir = tempDir();
    const [a, b] = [await newKey(dir, 'a'), await newKey(dir, 'b')];
    expect(run(['--env', 'dev', '--out', out]).code).toBe(0);
    expect(
      run(['--env', 'prod', '--age-recipient', a.recipient, '--out', out], { SOPS_AGE_KEY_FILE: a.file }).code,
    ).toBe(0);
    const { args, env } = prepare({ a, b, out });
    const before = snapshot(out);
    const keysBefore = [a.file, b.file].map((f) => readFileSync(f, 'utf8'));
    const r = run([...args, '--out', out], env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(snapshot(out)).toEqual(before);
    expect([a.file, b.file].map((f) => readFileSync(f, 'utf8'))).toEqual(keysBefore);
  });
});

describe('the key file', () => {
  it('goes to the sops default place when SOPS_AGE_KEY_FILE is empty, never into the output tree', () => {
    const out = tempDir();
    const xdg = tempDir();
    const r = spawnSync(join(process.cwd(), 'node_modules/.bin/zx'), ['scaffold.ts', '--env', 'prod', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, SOPS_AGE_KEY_FILE: '', XDG_CONFIG_HOME: xdg },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(xdg, 'sops', 'age', 'keys.txt'))).toBe(true);
    expect(Object.keys(snapshot(out)).filter((p) => p.includes('keys.txt'))).toEqual([]);
  });
});

describe('sealed secrets: review findings, kept fixed', () => {
  it('a console password edited with sops gets its htpasswd line; --check stays green; the edit is not committed for the person', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const { out, key, env } = await sealedProd();
    const file = join(out, 'sealed/prod/minio-console-basic-auth.yaml');
    execFileSync(sops, ['set', file, '["stringData"]["password"]', '"a-new-console-password"'], {
      env: { ...process.env, ...env },
    });

    expect(run(['--env', 'prod', '--check', '--out', out], env).code).toBe(1); // auth must follow the password
    expect(run(['--env', 'prod', '--out', out], env).code).toBe(0);
    const values = sopsDecrypt(sops, file, key).stringData as Record<string, string>;
    expect(values.password).toBe('a-new-console-password');
    expect(verifyHtpasswd(values.auth!, 'admin', 'a-new-console-password')).toBe(true);
    expect(run(['--env', 'prod', '--check', '--out', out], env).code).toBe(0);

    // An edit that needs nothing re-rendered: --check passes, and no run commits it for the person.
    execFileSync(sops, ['set', file, '["stringData"]["extra"]', '"added-by-a-person"'], {
      env: { ...process.env, ...env },
    });
    expect(run(['--env', 'prod', '--check', '--out', out], env).code).toBe(0);
    const r = run(['--env', 'prod', '--out', out], env);
    expect(r.stdout).toMatch(/nothing changed: no commit/);
    expect(execFileSync('git', ['-C', out, 'status', '--porcelain'], { encoding: 'utf8' })).toContain(
      'sealed/prod/minio-console-basic-auth.yaml',
    );
    // A machine without the key accepts the added key too.
    expect(
      run(['--env', 'prod', '--check', '--out', out], { SOPS_AGE_KEY_FILE: join(tempDir(), 'none.txt') }).code,
    ).toBe(0);

    // The root credentials edited with sops: MinIO reads them only at start, so the servers'
    // configuration label follows the sealed values (sops re-encrypts every value on an edit).
    const root = join(out, 'sealed/prod/minio-root-credentials.yaml');
    const label = () =>
      /minio-gitops\.io\/config: (\w+)/.exec(
        readFileSync(join(out, 'overlays/prod/minio/patch-server.yaml'), 'utf8'),
      )![1];
    const before = label();
    execFileSync(sops, ['set', root, '["stringData"]["rootPassword"]', '"a-new-root-password-0123456789"'], {
      env: { ...process.env, ...env },
    });
    expect(run(['--env', 'prod', '--check', '--out', out], env).code).toBe(1);
    const restarted = run(['--env', 'prod', '--out', out], env);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stderr).toMatch(/all 4 servers restart together/);
    expect(label()).not.toBe(before);
    expect(sopsDecrypt(sops, root, key).stringData).toMatchObject({ rootPassword: 'a-new-root-password-0123456789' });
  });

  it('refuses re-keying that leaves out every key of yours, and a key file inside the output', async () => {
    const out = tempDir();
    const dir = tempDir();
    const [a, b] = [await newKey(dir, 'a'), await newKey(dir, 'b')];
    expect(
      run(['--env', 'prod', '--age-recipient', a.recipient, '--out', out], { SOPS_AGE_KEY_FILE: a.file }).code,
    ).toBe(0);
    const before = snapshot(out);
    const away = run(['--env', 'prod', '--age-recipient', b.recipient, '--out', out], { SOPS_AGE_KEY_FILE: a.file });
    expect(away.code).toBe(2);
    expect(away.stderr).toMatch(
      /none of your age keys \(age1\w+\) is among the new recipients, so you could no longer decrypt sealed\/prod\/; pass your own recipient too/,
    );
    expect(snapshot(out)).toEqual(before);

    const inside = tempDir();
    const r = run(['--env', 'prod', '--out', inside], { SOPS_AGE_KEY_FILE: join(inside, 'keys.txt') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /the age key file .*keys\.txt is inside the output's repository \(.*\), where it could be committed/,
    );
    expect(existsSync(join(inside, 'keys.txt'))).toBe(false);

    const empty = join(tempDir(), 'keys.txt');
    writeFileSync(empty, '');
    const e = run(['--env', 'prod', '--out', tempDir()], { SOPS_AGE_KEY_FILE: empty });
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/holds no age identity \(AGE-SECRET-KEY-1\.\.\.\); add one/);
  });
});

describe('sealed values that come from the settings, on a machine without the key', () => {
  const consumerFile = 'sealed/prod/consumers/minio-s3-credentials-flink.yaml';

  it('a setting that changes a public value (--tls off: the s3.endpoint) needs the key; --check is drift for a key holder; the key holder re-encrypts; then --check is clean without the key', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const { out, key, env } = await sealedProd();
    expect(sopsDecrypt(sops, join(out, consumerFile), key).stringData).toMatchObject({
      's3.endpoint': 'https://minio.minio.svc.cluster.local:9000',
    });
    const record = YAML.parse(readFileSync(join(out, 'scaffold.lock.yaml'), 'utf8'));
    // Public values only: a generated value's key is never in the record.
    expect(Object.keys(record.sealed[consumerFile]).sort()).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_REGION',
      's3.access-key',
      's3.endpoint',
    ]);
    expect(Object.keys(record.sealed['sealed/prod/bootstrap/minio-consumer-flink.yaml'])).toEqual(['s3.access-key']);
    expect(Object.keys(record.sealed['sealed/prod/minio-console-basic-auth.yaml'])).toEqual(['user']);
    expect(record.sealed['sealed/prod/minio-root-credentials.yaml']).toEqual({});
    const noKey = { SOPS_AGE_KEY_FILE: join(tempDir(), 'none.txt') };
    const before = snapshot(out);

    // The reproduction: this used to succeed and keep the https endpoint in the sealed Secrets.
    const r = run(['--env', 'prod', '--tls', 'off', '--out', out], noKey);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toBe(
      `error: ${consumerFile} must be encrypted anew (its s3.endpoint value changes), which needs its values, and no age key is available (SOPS_AGE_KEY, or the key file ${noKey.SOPS_AGE_KEY_FILE} (SOPS_AGE_KEY_FILE)); load the key of one of its recipients (${key.recipient}), or have a holder of that key run this\n`,
    );
    expect(r.stderr).not.toContain('http'); // the keys are named, never the values
    expect(snapshot(out)).toEqual(before);
    expect(existsSync(noKey.SOPS_AGE_KEY_FILE)).toBe(false);

    // The same change in a pull request, checked by CI without the key: drift, with the note.
    const config = join(out, 'scaffold.config.yaml');
    const text = readFileSync(config, 'utf8');
    const prodTls = text.slice(text.indexOf('  prod:\n')).indexOf('    tls: true\n') + text.indexOf('  prod:\n');
    writeFileSync(config, `${text.slice(0, prodTls)}    tls: false\n${text.slice(prodTls + '    tls: true\n'.length)}`);
    const edited = snapshot(out);
    const check = run(['--env', 'prod', '--check', '--out', out], noKey);
    expect(check.code, check.stderr).toBe(1);
    expect(check.stderr).not.toMatch(/error/);
    for (const c of ['flink', 'spark', 'iceberg']) {
      expect(check.stdout).toMatch(new RegExp(`^update sealed/prod/consumers/minio-s3-credentials-${c}\\.yaml`, 'm'));
      expect(check.stderr).toContain(
        `note: sealed/prod/consumers/minio-s3-credentials-${c}.yaml must be encrypted anew (its s3.endpoint value changes), which needs its values, and no age key is available here: a holder of the age key must run \`npx zx scaffold.ts --env prod\` and commit\n`,
      );
    }
    // The copies for the bootstrap Job hold no endpoint: they stay.
    expect(check.stdout).not.toMatch(/^update sealed\/prod\/bootstrap\//m);
    expect(snapshot(out)).toEqual(edited);

    // The key holder's run: the same secret, the new endpoint, checked by the real sops.
    const valuesBefore = sealedValues(sops, out, key);
    const fixed = run(['--env', 'prod', '--out', out], env);
    expect(fixed.code, fixed.stderr).toBe(0);
    const valuesAfter = sealedValues(sops, out, key);
    for (const c of ['flink', 'spark', 'iceberg']) {
      const path = `sealed/prod/consumers/minio-s3-credentials-${c}.yaml`;
      expect(valuesAfter[path]).toEqual({
        ...valuesBefore[path],
        's3.endpoint': 'http://minio.minio.svc.cluster.local:9000',
      });
    }
    for (const path of Object.keys(valuesBefore).filter((p) => !p.startsWith('sealed/prod/consumers/'))) {
      expect(readFileSync(join(out, path), 'utf8'), path).toBe(edited[path]!.content);
    }
    const recordAfter = YAML.parse(readFileSync(join(out, 'scaffold.lock.yaml'), 'utf8'));
    expect(recordAfter.sealed[consumerFile]['s3.endpoint']).not.toBe(record.sealed[consumerFile]['s3.endpoint']);
    expect(recordAfter.sealed[consumerFile].AWS_REGION).toBe(record.sealed[consumerFile].AWS_REGION);

    const done = snapshot(out);
    const clean = run(['--env', 'prod', '--check', '--out', out], noKey);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/is up to date/);
    const again = run(['--env', 'prod', '--out', out], noKey);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 created, 0 updated, 0 deleted/);
    expect(snapshot(out)).toEqual(done); // same config, same bytes, the record included
  });

  it('a changed consumer user (its access key) needs the key too, naming the keys whose values change', async () => {
    const { out, key } = await sealedProd();
    const config = join(out, 'scaffold.config.yaml');
    const text = readFileSync(config, 'utf8');
    const at = text.indexOf('        user: flink\n', text.indexOf('  prod:\n'));
    expect(at).toBeGreaterThan(0);
    writeFileSync(
      config,
      `${text.slice(0, at)}        user: flink-prod\n${text.slice(at + '        user: flink\n'.length)}`,
    );
    const before = snapshot(out);
    const noKey = { SOPS_AGE_KEY_FILE: join(tempDir(), 'none.txt') };
    const r = run(['--env', 'prod', '--out', out], noKey);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      `error: ${consumerFile} must be encrypted anew (its AWS_ACCESS_KEY_ID, s3.access-key values change), which needs its values, and no age key is available (SOPS_AGE_KEY, or the key file ${noKey.SOPS_AGE_KEY_FILE} (SOPS_AGE_KEY_FILE)); load the key of one of its recipients (${key.recipient}), or have a holder of that key run this\n`,
    );
    expect(snapshot(out)).toEqual(before);
    const check = run(['--env', 'prod', '--check', '--out', out], noKey);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(
      `note: ${consumerFile} must be encrypted anew (its AWS_ACCESS_KEY_ID, s3.access-key values change)`,
    );
    expect(check.stderr).toContain(
      'note: sealed/prod/bootstrap/minio-consumer-flink.yaml must be encrypted anew (its s3.access-key value changes)',
    );
    expect(check.stderr).not.toMatch(/minio-s3-credentials-spark|minio-consumer-spark/);
  });

  it('a record of an earlier version (no fingerprints) gives no alarm without the key; the next run with the key records them, the sealed files untouched', async () => {
    const { out, env } = await sealedProd();
    const { formatRecord, parseRecord } = await import('../src/plan.ts');
    const recordFile = join(out, 'scaffold.lock.yaml');
    const current = readFileSync(recordFile, 'utf8');
    // The format before the fingerprints (with the layouts of this version, which need no key).
    const parsed = parseRecord(current);
    const old = formatRecord(parsed.files, {}, {}, parsed.layouts);
    expect(old).not.toContain('sealed:');
    expect(current.startsWith(old.split('\n').slice(0, 2).join('\n'))).toBe(true);
    writeFileSync(recordFile, old);
    const before = snapshot(out);
    const noKey = { SOPS_AGE_KEY_FILE: join(tempDir(), 'none.txt') };
    const check = run(['--env', 'prod', '--check', '--out', out], noKey);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const r = run(['--env', 'prod', '--out', out], noKey);
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(out)).toEqual(before); // nothing recorded without the key: it cannot know the values are current

    const keyed = run(['--env', 'prod', '--out', out], env);
    expect(keyed.code, keyed.stderr).toBe(0);
    const after = snapshot(out);
    const changed = Object.keys(after).filter((p) => after[p]!.content !== before[p]?.content);
    expect(changed).toEqual(['scaffold.lock.yaml']);
    expect(after['scaffold.lock.yaml']!.content).toBe(current);
  });
});
