#!/usr/bin/env -S npx zx
// minio-gitops: `npx zx scaffold.ts --env NAME [options]`, see --help and README.md.
// Kept thin: it finds its own arguments (zx puts its own options before the script path)
// and hands them to src/cli.ts. Output lands beside this file unless --out says otherwise.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from './src/cli.ts';

const self = fileURLToPath(import.meta.url);
const at = process.argv.findIndex((arg, i) => i > 0 && resolve(arg) === self);
process.exitCode = await main(process.argv.slice(at > 0 ? at + 1 : 2), dirname(self));
