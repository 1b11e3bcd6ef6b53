// The whole tree one run renders: the shared base and the env's overlay. Pure.
import type { Options } from '../options.ts';
import { renderBase } from './base.ts';
import { renderBootstrapBase, renderBootstrapOverlay } from './bootstrap.ts';
import { CI_FILES, renderCi } from './ci.ts';
import { renderConsumers } from './consumers.ts';
import { combine, type GeneratedFile } from './files.ts';
import { renderGitops } from './gitops.ts';
import { renderOverlay } from './overlay.ts';
import { renderSealed } from './sealed.ts';

export type { GeneratedFile } from './files.ts';

/** Directories (and the CI files) a run for `env` owns: it may create, update and delete files only here. */
export function ownedPrefixes(env: string): string[] {
  return ['base/', 'scripts/', `overlays/${env}/`, `sealed/${env}/`, `clusters/${env}/`, ...CI_FILES];
}

/** Every file but the encrypted Secrets, which sealed.ts makes from sealedSecretSpecs. */
export function renderTree(options: Options): GeneratedFile[] {
  return combine(
    renderBase(options.global),
    renderBootstrapBase(options.global),
    renderOverlay(options),
    renderBootstrapOverlay(options),
    renderConsumers(options),
    renderSealed(options),
    renderGitops(options),
    renderCi(options),
  );
}
