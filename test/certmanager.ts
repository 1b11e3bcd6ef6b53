// cert-manager for tests: its controller (the pinned wrapper build of tools/cert-manager,
// from tools/install-gitops.sh: upstream's controllers, no webhook, no cainjector, nothing
// listening) and trust-manager's Bundle controller (tools/install-trust.sh), run as
// processes against a test control plane with a kubeconfig, as a cluster runs them in the
// cert-manager namespace. So Issuers, ClusterIssuers and Certificates are really issued,
// and Bundles really synced. Stopped when the test ends.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from './cluster.ts';
import { adminUser, gitopsCrds, spawnController, type Proc } from './flux.ts';
import { REPO, unavailable } from './tools.ts';
import { defaultPackage } from './trust.ts';

const TOOLS_BIN = join(REPO, '.tools', 'bin');
const SYSTEM_CAS = '/etc/ssl/certs/ca-certificates.crt';

export interface CertManagerBin {
  controller: string;
  trustManager: string;
  /** cert-manager.io and acme.cert-manager.io CRDs (of the controller's version), and trust-manager's Bundle. */
  crds: string[];
}

/** cert-manager's controller, trust-manager and their CRDs, or: skip the test (locally) / fail it (CI). */
export function needCertManager(ctx: { skip: (note?: string) => void }): CertManagerBin {
  const controller = join(TOOLS_BIN, 'cert-manager-controller');
  const trustManager = join(TOOLS_BIN, 'trust-manager');
  const bundle = join(REPO, '.tools', 'crds', 'trust.cert-manager.io_bundles.yaml');
  const crds = gitopsCrds('cert-manager.io');
  const missing = [
    ...[controller, trustManager, bundle].filter((f) => !existsSync(f)),
    ...(crds.some((f) => f.includes('certificates.cert-manager.io'))
      ? []
      : ['cert-manager CRDs in .tools/gitops-crds']),
  ];
  if (missing.length > 0)
    unavailable(
      ctx,
      `cert-manager is not available (missing: ${missing.join(', ')}): run \`bash tools/install.sh\` (needs Go)`,
    );
  if (!existsSync(SYSTEM_CAS))
    unavailable(
      ctx,
      `${SYSTEM_CAS} is missing: install the ca-certificates package (trust-manager's default CA package is made from it)`,
    );
  return { controller, trustManager, crds: [...crds, bundle] };
}

/**
 * cert-manager's controller and trust-manager against `cluster`, each as its own user bound
 * to cluster-admin, until the test ends. `namespace` is where cert-manager is installed: the
 * ClusterIssuers' Secrets live there (--cluster-resource-namespace, as the Helm chart sets it)
 * and trust-manager reads its Bundles' sources there (--trust-namespace).
 */
export async function startCertManager(
  cluster: Cluster,
  bin: CertManagerBin,
  dir: string,
  namespace: string,
): Promise<Proc[]> {
  const controller = spawnController(
    'cert-manager',
    bin.controller,
    ['--kubeconfig', await adminUser(cluster, 'cert-manager'), '--cluster-resource-namespace', namespace],
    dir,
  );
  const trust = spawnController(
    'trust-manager',
    bin.trustManager,
    [
      '--kubeconfig',
      await adminUser(cluster, 'trust-manager'),
      '--trust-namespace',
      namespace,
      '--default-package-location',
      defaultPackage(join(dir, 'trust-manager')),
    ],
    dir,
  );
  return [controller, trust];
}
