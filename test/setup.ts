// Every test file gets its own, empty place for age keys, so that no test reads or writes
// the keys of the person (or machine) running them: sops and the scaffolder read
// SOPS_AGE_KEY_FILE first, and spawned processes inherit it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const home = mkdtempSync(join(tmpdir(), 'minio-gitops-keys-'));
process.env.SOPS_AGE_KEY_FILE = join(home, 'keys.txt');
process.env.XDG_CONFIG_HOME = join(home, 'config');
delete process.env.SOPS_AGE_KEY;
delete process.env.SOPS_AGE_KEY_CMD;

// Gone with the file's tests (the keys are the tests' own).
afterAll(() => rmSync(home, { recursive: true, force: true }));
