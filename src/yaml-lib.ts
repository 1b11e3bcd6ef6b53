// The `yaml` library (a parser that keeps comments), loaded on first use: a run in a
// fresh directory has no config, record or .sops.yaml to parse, writes them with the
// own emitter (yaml.ts), and so never pays the library's start-up cost.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

const require = createRequire(import.meta.url);
let lib: typeof Yaml | undefined;

export function yamlLib(): typeof Yaml {
  lib ??= require('yaml') as typeof Yaml;
  return lib;
}
