// NetworkPolicies: deny everything in the MinIO namespace by default, then open exactly
// what the server needs: the S3 port to the consumer namespaces, to Prometheus and to the
// other servers; the API and the console to the ingress controller; DNS (port 53) out.
import type { GlobalSettings } from '../options.ts';
import { API_PORT, APP, CONSOLE_PORT, metadata, selectorLabels } from './names.ts';

const NAMESPACE_NAME = 'kubernetes.io/metadata.name';
const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port }));

function fromNamespaces(names: string[]) {
  return { namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME, operator: 'In', values: names }] } };
}

export function networkPolicies(global: GlobalSettings): Record<string, object> {
  const peers = { podSelector: { matchLabels: selectorLabels } };
  const s3Clients = [...global.consumerNamespaces, global.monitoringNamespace];
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
        ingress: [
          { from: [fromNamespaces(s3Clients)], ports: tcp(API_PORT) },
          { from: [peers], ports: tcp(API_PORT) },
          { from: [fromNamespaces([global.ingressNamespace])], ports: tcp(API_PORT, CONSOLE_PORT) },
        ],
        egress: [
          // DNS to any address: cluster DNS may be a NodeLocal cache on the host network.
          { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
          { to: [peers], ports: tcp(API_PORT) },
        ],
      },
    },
  };
}
