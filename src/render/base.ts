// base/: what every env shares, from the global settings only.
//   base/common/                 Namespace, ServiceAccount, Services, NetworkPolicies, PDB
//   base/standalone/             common + a one-server Deployment
//   base/server/                 the erasure-coded servers' StatefulSet (every pool's)
//   base/distributed/            common + server + its headless Service and restarter
//   base/components/monitoring/  a Kustomize Component with the ServiceMonitor
// An overlay picks one of standalone / distributed and patches in its env's values.
import type { GlobalSettings } from '../options.ts';
import type { GeneratedFile } from './files.ts';
import { kustomization, yamlFile } from './files.ts';
import {
  API_PORT,
  APP,
  CONSOLE_PORT,
  CONSOLE_SERVICE,
  HEADLESS_SERVICE,
  labels,
  metadata,
  selectorLabels,
  syncWave,
  WAVES,
} from './names.ts';
import { KEEP } from './names.ts';
import { networkPolicies } from './network.ts';
import { restarterBase } from './restart.ts';
import { baseTemplateHash, deployment, statefulSet } from './workload.ts';

const HEADER = 'shared by every env';

function service(name: string, component: string, port: number, portName: string, extra: object = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(name, component),
    spec: {
      ...extra,
      selector: selectorLabels,
      ports: [{ name: portName, port, targetPort: portName, protocol: 'TCP' }],
    },
  };
}

/**
 * The Namespace at Pod Security `restricted`; an overlay renames it to its namespace. Never
 * pruned or deleted by the engine: deleting it would delete the servers' claims with it (an
 * env moved to another namespace leaves its data behind, never destroys it).
 */
function namespace() {
  const level = (mode: string) => ({
    [`pod-security.kubernetes.io/${mode}`]: 'restricted',
    [`pod-security.kubernetes.io/${mode}-version`]: 'latest',
  });
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: APP,
      labels: { ...labels('namespace'), ...level('enforce'), ...level('warn'), ...level('audit') },
      annotations: { ...syncWave(WAVES.namespace), ...KEEP },
    },
  };
}

export function serviceMonitor(global: GlobalSettings) {
  const endpoint = (path: string) => ({ port: 'api', path, scheme: 'http', interval: '30s' });
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: APP, labels: { ...labels('metrics'), ...global.serviceMonitorLabels } },
    spec: {
      selector: { matchLabels: { ...selectorLabels, 'app.kubernetes.io/component': 'api' } },
      endpoints: [endpoint('/minio/v2/metrics/cluster'), endpoint('/minio/v2/metrics/node')],
    },
  };
}

export function renderBase(global: GlobalSettings): GeneratedFile[] {
  const common = {
    'namespace.yaml': namespace(),
    'serviceaccount.yaml': {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(APP, 'server', { annotations: syncWave(WAVES.prerequisites) }),
      automountServiceAccountToken: false,
    },
    'service-api.yaml': service(APP, 'api', API_PORT, 'api'),
    'service-console.yaml': service(CONSOLE_SERVICE, 'console', CONSOLE_PORT, 'console'),
    ...networkPolicies(),
    'poddisruptionbudget.yaml': {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metadata(APP, 'server'),
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels } },
    },
  };
  const headless = service(HEADLESS_SERVICE, 'headless', API_PORT, 'api', {
    clusterIP: 'None',
    // Servers must find each other by DNS before any of them is ready.
    publishNotReadyAddresses: true,
  });
  headless.metadata.labels = labels('headless');
  const restarter = restarterBase(global, baseTemplateHash(global, true));

  return [
    ...Object.entries(common).map(([name, obj]) => yamlFile(`base/common/${name}`, obj, HEADER)),
    kustomization('base/common', HEADER, { resources: Object.keys(common) }),
    yamlFile('base/standalone/deployment.yaml', deployment(global), HEADER),
    kustomization('base/standalone', HEADER, { resources: ['../common', 'deployment.yaml'] }),
    // The servers' StatefulSet alone: the first pool's, and each added pool's (an overlay's
    // pool-N/ renames and relabels it), so a change of the base reaches every pool of every env.
    yamlFile('base/server/statefulset.yaml', statefulSet(global), HEADER),
    kustomization('base/server', HEADER, { resources: ['statefulset.yaml'] }),
    yamlFile('base/distributed/service-headless.yaml', headless, HEADER),
    ...Object.entries(restarter).map(([name, obj]) => yamlFile(`base/distributed/${name}`, obj, HEADER)),
    kustomization('base/distributed', HEADER, {
      resources: ['../common', '../server', 'service-headless.yaml', ...Object.keys(restarter)],
    }),
    yamlFile('base/components/monitoring/servicemonitor.yaml', serviceMonitor(global), HEADER),
    yamlFile(
      'base/components/monitoring/kustomization.yaml',
      { apiVersion: 'kustomize.config.k8s.io/v1alpha1', kind: 'Component', resources: ['servicemonitor.yaml'] },
      HEADER,
    ),
  ];
}
