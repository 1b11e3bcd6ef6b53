// overlays/<env>/trust/: the env's private CA and how its consumers come to trust it.
//
// cert-manager makes the CA in the cluster, so the trust must be distributed there too:
// trust-manager (the cert-manager project's tool) copies CA certificates into namespaces
// as a ConfigMap, in PEM and as a PKCS12 truststore a JVM reads. It reads its sources only
// from its trust namespace, which is also where cert-manager keeps a ClusterIssuer's
// secret (both `cert-manager` by default). So the private CA lives there:
//   Issuer <ns>-selfsigned -> Certificate <ns>-ca (isCA) -> ClusterIssuer <ns>-ca
// and the servers' (and ingress hosts') certificates come from that ClusterIssuer. A
// (<ns> is MinIO's namespace: unique in the cluster, as these cluster-wide names must be.)
// Bundle <ns>-trust takes the CA plus the public CAs (useDefaultCAs: jobs still
// reach other HTTPS endpoints) into every consumer namespace. Its objects name their
// namespaces themselves, so this directory is a kustomization without `namespace:`.
import type { Options } from '../options.ts';
import { SELF_SIGNED_ISSUER } from '../options.ts';
import { kustomization, yamlFile, type GeneratedFile } from './files.ts';
import { consumerNamespaces, metadata, PREREQUISITE } from './names.ts';

/** Where the consumers' pods mount the truststore, and its password (see trustJavaOptions). */
export const TRUST_DIR = '/etc/minio-gitops/trust';
export const TRUSTSTORE_KEY = 'truststore.p12';
export const CA_BUNDLE_KEY = 'ca.crt';
// A truststore holds public certificates only; its password guards nothing secret. It is
// the JDK's conventional one, and Java 17 needs one to open a PKCS12 store.
export const TRUSTSTORE_PASSWORD = 'changeit';

/** The private CA's Certificate, Secret and ClusterIssuer (in the trust namespace). */
export function caName(o: Options): string {
  return `${o.settings.namespace}-ca`;
}

/** The Bundle, and the ConfigMap it writes into each consumer namespace. */
export function trustBundleName(o: Options): string {
  return `${o.settings.namespace}-trust`;
}

/** Whether the env brings its own private CA (its servers' or its ingress hosts' issuer is self-signed). */
export function ownsCa(o: Options): boolean {
  const s = o.settings;
  return s.tls && (s.issuer === SELF_SIGNED_ISSUER || (s.ingress && s.ingressIssuer === SELF_SIGNED_ISSUER));
}

/** Whether the consumers get the servers' CA from a trust-manager Bundle. */
export function hasTruststore(o: Options): boolean {
  const s = o.settings;
  return s.tls && s.truststore === 'trust-manager' && Object.keys(s.consumers).length > 0;
}

/** Whether the env has an overlays/<env>/trust step: a CA of its own, or a truststore to distribute. */
export function hasTrustStep(o: Options): boolean {
  return ownsCa(o) || hasTruststore(o);
}

/** The JVM options that make a consumer trust the servers (none without a truststore). */
export function trustJavaOptions(o: Options): string[] {
  if (!hasTruststore(o)) return [];
  return [
    `-Djavax.net.ssl.trustStore=${TRUST_DIR}/${TRUSTSTORE_KEY}`,
    `-Djavax.net.ssl.trustStorePassword=${TRUSTSTORE_PASSWORD}`,
  ];
}

/** The pod-template volume and mount of the truststore (in a consumer namespace). */
export function trustVolume(o: Options) {
  return {
    name: 'minio-trust',
    configMap: { name: trustBundleName(o), items: [{ key: TRUSTSTORE_KEY, path: TRUSTSTORE_KEY }] },
  };
}
export const TRUST_MOUNT = { name: 'minio-trust', mountPath: TRUST_DIR, readOnly: true };

function privateCa(o: Options): Record<string, object> {
  const namespace = o.global.trustNamespace;
  const selfSigned = `${o.settings.namespace}-selfsigned`;
  return {
    'issuer-selfsigned.yaml': {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: metadata(selfSigned, 'tls', { namespace, ...PREREQUISITE }),
      spec: { selfSigned: {} },
    },
    'certificate-ca.yaml': {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: metadata(caName(o), 'tls', { namespace, ...PREREQUISITE }),
      spec: {
        isCA: true,
        commonName: `minio-gitops ${o.env} CA`,
        secretName: caName(o),
        duration: '87600h',
        // Renewing the CA keeps its key: the servers' certificates it signed, and the
        // truststores holding it, stay valid (a new key would break them until each renews).
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
        issuerRef: { name: selfSigned, kind: 'Issuer', group: 'cert-manager.io' },
      },
    },
    // A ClusterIssuer reads its secret from cert-manager's cluster resource namespace.
    'clusterissuer-ca.yaml': {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: metadata(caName(o), 'tls', PREREQUISITE),
      spec: { ca: { secretName: caName(o) } },
    },
  };
}

function bundle(o: Options) {
  const s = o.settings;
  const source = s.issuer === SELF_SIGNED_ISSUER ? caName(o) : s.caSecret;
  return {
    apiVersion: 'trust.cert-manager.io/v1alpha1',
    kind: 'Bundle',
    metadata: metadata(trustBundleName(o), 'tls', PREREQUISITE),
    spec: {
      sources: [{ useDefaultCAs: true }, { secret: { name: source, key: 'tls.crt' } }],
      target: {
        configMap: { key: CA_BUNDLE_KEY },
        // Modern2023: AES-256 and PBKDF2, which Java 17 reads (with the password).
        additionalFormats: { pkcs12: { key: TRUSTSTORE_KEY, password: TRUSTSTORE_PASSWORD, profile: 'Modern2023' } },
        namespaceSelector: {
          matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: consumerNamespaces(o) }],
        },
      },
    },
  };
}

/** The issuerRef of a certificate: the env's own CA, or the person's issuer. */
export function issuerRef(o: Options, name: string, kind: string) {
  return name === SELF_SIGNED_ISSUER
    ? { name: caName(o), kind: 'ClusterIssuer', group: 'cert-manager.io' }
    : { name, kind, group: 'cert-manager.io' };
}

export function renderTrust(o: Options): GeneratedFile[] {
  const objects: Record<string, object> = {
    ...(ownsCa(o) ? privateCa(o) : {}),
    ...(hasTruststore(o) ? { 'bundle.yaml': bundle(o) } : {}),
  };
  if (Object.keys(objects).length === 0) return [];
  const dir = `overlays/${o.env}/trust`;
  const scope = `env ${o.env}, trust`;
  return [
    ...Object.entries(objects).map(([file, obj]) => yamlFile(`${dir}/${file}`, obj, scope)),
    // No `namespace:`: the CA lives in the trust namespace, the Bundle is cluster-scoped.
    kustomization(dir, scope, { resources: Object.keys(objects) }),
  ];
}
