// Who may read MinIO's metrics. MinIO's own default (MINIO_PROMETHEUS_AUTH_TYPE=jwt): a
// request carries a bearer token, a JWT signed with the secret key of a MinIO user whose
// policy allows admin:Prometheus (cmd/jwt.go, metricsRequestAuthenticate). The env gets
// such a user, with that one action, and a Secret with its credentials and its token: the
// bootstrap Job makes the user, the ServiceMonitor sends the token. `public` is an opt-in.
// Either way the public API Ingress never serves the metrics paths (overlay.ts).
import { createHmac } from 'node:crypto';
import { METRICS_USER } from '../consumers.ts';
import type { Options } from '../options.ts';
import { modeSecret } from './secrets.ts';

/** The Secret in MinIO's namespace: s3.access-key and s3.secret-key (the bootstrap's), token (Prometheus'). */
export const METRICS_SECRET = 'minio-metrics-credentials';
/** Its name in --rotate, in bootstrap.conf and under the Job's credentials directory. */
export const METRICS_CREDENTIAL = 'metrics';
/** The policy of the metrics user: minio-gitops-* like the consumers', so the script owns it. */
export const METRICS_POLICY = 'minio-gitops-metrics';

/**
 * Every path prefix under which MinIO serves metrics: v1 (/minio/prometheus/metrics), v2
 * (/minio/v2/metrics/{cluster,node,bucket,resource}) and v3 (/minio/metrics/v3/...).
 * "minio" is a reserved bucket name, so no object path starts with these.
 */
export const METRICS_PATHS = ['/minio/prometheus', '/minio/v2/metrics', '/minio/metrics'];

/** The Service without endpoints (no selector) that the public Ingress sends them to (overlay.ts). */
export const METRICS_REFUSED = 'minio-metrics-refused';

// The token never expires in practice: MinIO's own `mc admin prometheus generate` makes
// tokens valid for 100 years. A fixed expiry (2100-01-01) keeps the token a function of the
// user's credentials, so a re-run writes the same bytes; --rotate metrics makes a new one.
const TOKEN_EXPIRY = 4102444800;

const base64url = (text: string | Buffer) => Buffer.from(text).toString('base64url');

/** The bearer token MinIO accepts for `user`: HS512 over {exp, sub, iss: prometheus}, as mc makes it. */
export function metricsToken(user: string, secret: string): string {
  const signed = `${base64url(JSON.stringify({ alg: 'HS512', typ: 'JWT' }))}.${base64url(JSON.stringify({ exp: TOKEN_EXPIRY, sub: user, iss: 'prometheus' }))}`;
  return `${signed}.${base64url(createHmac('sha512', secret).update(signed).digest())}`;
}

/** Whether the env has the metrics user and token: a ServiceMonitor that needs them. */
export function hasMetricsCredentials(o: Options): boolean {
  return o.settings.monitoring && o.settings.metricsAuth === 'jwt';
}

/** The metrics user's policy: reading metrics, nothing else (no S3, no access keys of its own). */
export function metricsPolicy(): string {
  const statements = [
    { Effect: 'Allow', Action: ['admin:Prometheus'] },
    { Effect: 'Deny', Action: ['admin:CreateServiceAccount'] },
  ];
  return `${JSON.stringify({ Version: '2012-10-17', Statement: statements })}\n`;
}

/** The dev env's fixed secret key (plain mode: public, like the other dev credentials). */
const DEV_SECRET = 'dev-metrics-password-change-me';

/** The Secret's values from the user's credentials: the token follows from them. */
export function metricsSecretValues(user: string, secret: string): Record<string, string> {
  return { 's3.access-key': user, 's3.secret-key': secret, token: metricsToken(user, secret) };
}

/**
 * The metrics Secret for plain and external mode (sops mode seals it in
 * sealed/<env>/bootstrap/): file name -> object, in the bootstrap overlay, so that a new
 * secret re-runs the Job that gives it to MinIO.
 */
export function metricsCredentialObjects(o: Options): Record<string, object> {
  if (!hasMetricsCredentials(o)) return {};
  // The store holds the secret key and the token made from it (docs/hardening.md says how).
  const fromStore = { 's3.secret-key': 'secretKey', token: 'token' };
  return modeSecret(
    o,
    'metrics-credentials',
    METRICS_SECRET,
    metricsSecretValues(METRICS_USER, DEV_SECRET),
    fromStore,
    `${o.settings.remoteKey}/${METRICS_CREDENTIAL}`,
    { 's3.access-key': METRICS_USER },
  );
}

/** The ServiceMonitor endpoints' authorization: the token from the metrics Secret. */
export function metricsAuthorization(o: Options): object | undefined {
  return hasMetricsCredentials(o) ? { type: 'Bearer', credentials: { name: METRICS_SECRET, key: 'token' } } : undefined;
}
