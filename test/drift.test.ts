// The repository holds the rendered default dev and prod overlays (the output of
// `npx zx scaffold.ts --env dev|prod` beside scaffold.ts). They must be exactly what the
// code renders from the committed scaffold.config.yaml: a change to a render function
// without a re-run fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseFlags } from '../src/args.ts';
import { planRun } from '../src/plan-run.ts';
import { REPO } from './tools.ts';

const config = YAML.parse(readFileSync(join(REPO, 'scaffold.config.yaml'), 'utf8'));

describe('the committed output', () => {
  it('holds the dev and prod envs', () => {
    expect(Object.keys(config.envs).sort()).toEqual(['dev', 'prod']);
  });

  it.for(Object.keys(config.envs))('overlays/%s and base/ match what the code renders', async (env) => {
    const { plan } = await planRun(REPO, parseFlags(['--env', env]));
    const drift = plan.entries.filter((e) => e.action !== 'unchanged').map((e) => `${e.action} ${e.path}`);
    expect(drift, `run \`npx zx scaffold.ts --env ${env}\` and commit the result`).toEqual([]);
  });
});
