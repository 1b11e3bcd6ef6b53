// NetworkPolicies: deny everything in the MinIO namespace by default, then open exactly
// what the server needs: the S3 port to the bootstrap Job and the other servers, DNS
// (port 53) out. What depends on the env's settings is opened by its overlay (policies
// add up): the S3 port to the consumers' namespaces and, with monitoring, Prometheus's;
// with an ingress, the API and the console to the ingress controller.
import type { GlobalSettings } from '../options.ts';
import { API_PORT, APP, bootstrapSelector, CONSOLE_PORT, metadata, selectorLabels } from './names.ts';

const NAMESPACE_NAME = 'kubernetes.io/metadata.name';
const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port }));

function fromNamespaces(names: string[]) {
  return { namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME, operator: 'In', values: names }] } };
}

export function networkPolicies(): Record<string, object> {
  const peers = { podSelector: { matchLabels: selectorLabels } };
  return {
    'networkpolicy-default-deny.yaml': {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata('default-deny-all', 'network'),
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    },
    'networkpolicy-minio.yaml': {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata(APP, 'network'),
      spec: {
        podSelector: { matchLabels: selectorLabels },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [peers, { podSelector: { matchLabels: bootstrapSelector } }], ports: tcp(API_PORT) }],
        egress: [
          // DNS to any address: cluster DNS may be a NodeLocal cache on the host network.
          {
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
          { to: [peers], ports: tcp(API_PORT) },
        ],
      },
    },
  };
}

/** An added policy: the servers' `ports` open to pods in `namespaces`. */
function allowFrom(name: string, namespaces: string[], ports: number[]) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(name, 'network'),
    spec: {
      podSelector: { matchLabels: selectorLabels },
      policyTypes: ['Ingress'],
      ingress: [{ from: [fromNamespaces(namespaces)], ports: tcp(...ports) }],
    },
  };
}

/** The API and the console for the ingress controller (envs with an ingress). */
export function ingressControllerPolicy(global: GlobalSettings) {
  return allowFrom(`${APP}-ingress-controller`, [global.ingressNamespace], [API_PORT, CONSOLE_PORT]);
}

/** The S3 port for the env's consumer namespaces and Prometheus's (none: nothing opened). */
export function s3ClientsPolicy(namespaces: string[]) {
  return allowFrom(`${APP}-s3-clients`, namespaces, [API_PORT]);
}
