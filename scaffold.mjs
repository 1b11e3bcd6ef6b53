#!/usr/bin/env -S npx zx
// minio-gitops: `npx zx scaffold.ts --env NAME [options]`, see --help and README.md.
// scaffold.ts is a link to this file: plain JavaScript, because Node strips the types of a
// .ts entry with a compiler it loads for it (about 60 ms a run), while src/ comes stripped
// from Node's compile cache from the second run on. Kept thin: it finds its own arguments
// (zx puts its own options before the script path) and hands them to src/cli.ts. Output
// lands beside this file unless --out says otherwise.
import { existsSync, realpathSync } from 'node:fs';
import module from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Node caches compiled (and type-stripped) modules in the OS temp dir: it makes start-up
// faster from the second run on. Enabled before src/ is imported, hence the dynamic import.
module.enableCompileCache?.();
// A reader that stops early (`| head`) leaves the rest of the output nowhere to go: no
// error of the run, which finishes as it would (a stack trace here would be one).
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
const { main } = await import('./src/cli.ts');

// Node runs the script by its real path (this file); the arguments name it as scaffold.ts,
// or through a link of the person's own.
const self = fileURLToPath(import.meta.url);
const at = process.argv.findIndex(
  (arg, i) =>
    i > 0 && (resolve(arg) === self || (/\.(m?js|m?ts)$/.test(arg) && existsSync(arg) && realpathSync(arg) === self)),
);
const code = await main(process.argv.slice(at > 0 ? at + 1 : 2), dirname(self));
// Exit now rather than idle while V8 finishes a garbage collection nobody needs (about
// 15 ms); but first let stdout and stderr drain: writes to a pipe are asynchronous, and
// exiting with them pending cuts the output at the pipe's 64 KiB (a --dry-run into less).
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((done) => s.write('', done))));
process.exit(code);
