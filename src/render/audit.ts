// The audit log: MinIO posts one JSON event per API call (who, what, which bucket and
// object, the answer) to a webhook (MINIO_AUDIT_WEBHOOK_*), with a bearer token the
// receiver checks. The token is made once and sealed like the other credentials (plain in
// dev; external mode reads it from the store); the receiver is configured with the same.
import type { Options } from '../options.ts';
import { metadata, selectorLabels } from './names.ts';
import { modeSecret } from './secrets.ts';

/** The Secret in MinIO's namespace with the token (key `token`). */
export const AUDIT_SECRET = 'minio-audit-webhook';
export const AUDIT_CREDENTIAL = 'audit';
// The token as the pod gets it, for the variable that adds the scheme (Kubernetes expands
// $(AUDIT_WEBHOOK_TOKEN) from the variable before it). Not MINIO_*: MinIO reads only its own.
const TOKEN_VAR = 'AUDIT_WEBHOOK_TOKEN';
const DEV_TOKEN = 'dev-audit-token-change-me';

export function hasAudit(o: Options): boolean {
  return o.settings.auditWebhook !== '';
}

/** The servers' environment: the webhook target, its token as `Authorization: Bearer ...`. */
export function auditEnv(o: Options): object[] {
  if (!hasAudit(o)) return [];
  return [
    { name: 'MINIO_AUDIT_WEBHOOK_ENABLE', value: 'on' },
    { name: 'MINIO_AUDIT_WEBHOOK_ENDPOINT', value: o.settings.auditWebhook },
    { name: TOKEN_VAR, valueFrom: { secretKeyRef: { name: AUDIT_SECRET, key: 'token' } } },
    { name: 'MINIO_AUDIT_WEBHOOK_AUTH_TOKEN', value: `Bearer $(${TOKEN_VAR})` },
  ];
}

/** The token's Secret for plain and external mode (sops mode seals it in sealed/<env>/): file name -> object. */
export function auditSecretObjects(o: Options): Record<string, object> {
  return hasAudit(o)
    ? modeSecret(o, 'audit-webhook', AUDIT_SECRET, { token: DEV_TOKEN }, { token: 'auditWebhookToken' })
    : {};
}

/**
 * The servers' way out to the receiver: to the receiver's namespace when the URL names a
 * Service (NAME.NAMESPACE.svc[.cluster.local]), on any port, since a NetworkPolicy sees the
 * pod's port after the Service's translation, which the URL does not tell; to its address
 * and port when it is an IP address; otherwise to any address on the URL's port (a
 * NetworkPolicy cannot name a host outside the cluster).
 */
export function auditEgressPolicy(o: Options): Record<string, object> {
  if (!hasAudit(o)) return {};
  const url = new URL(o.settings.auditWebhook);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname;
  const service = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$/.exec(host);
  const to = service
    ? [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': service[2] } } }]
    : /^\d+\.\d+\.\d+\.\d+$/.test(host)
      ? [{ ipBlock: { cidr: `${host}/32` } }]
      : host.startsWith('[')
        ? [{ ipBlock: { cidr: `${host.slice(1, -1)}/128` } }]
        : undefined;
  return {
    'networkpolicy-audit-webhook.yaml': {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata('minio-audit-webhook', 'network'),
      spec: {
        podSelector: { matchLabels: selectorLabels },
        policyTypes: ['Egress'],
        egress: [service ? { to } : { ...(to ? { to } : {}), ports: [{ protocol: 'TCP', port }] }],
      },
    },
  };
}
