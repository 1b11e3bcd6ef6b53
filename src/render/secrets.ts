// The two ways a Secret is rendered in plain files: a plain Secret (dev) and an
// ExternalSecret that reads a store (sops mode seals Secrets in sealed/<env>/ instead).
import { DEV_ROOT_USER, type Options } from '../options.ts';
import { metadata, PREREQUISITE } from './names.ts';

/** The fixed root credentials of a plain (dev) env, shown in its README. */
export const DEV_CREDENTIALS = { rootUser: DEV_ROOT_USER, rootPassword: 'dev-password-change-me' };

/** A plain Secret; `meta` adds a namespace or a later sync wave. */
export function plainSecret(
  name: string,
  stringData: Record<string, string>,
  meta: Record<string, unknown> = PREREQUISITE,
) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(name, 'credentials', meta),
    type: 'Opaque',
    stringData,
  };
}

/**
 * An ExternalSecret: Secret key -> property of `remoteKey` in the env's store. `fixed`
 * values (not secret, e.g. an endpoint) are merged in by the template.
 */
export function externalSecret(
  o: Options,
  name: string,
  keys: Record<string, string>,
  remoteKey = o.settings.remoteKey,
  meta: Record<string, unknown> = PREREQUISITE,
  fixed: Record<string, string> = {},
) {
  const s = o.settings;
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: metadata(name, 'credentials', meta),
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: s.secretStore, kind: s.secretStoreKind },
      target: {
        name,
        creationPolicy: 'Owner',
        deletionPolicy: 'Retain',
        ...(Object.keys(fixed).length > 0
          ? { template: { engineVersion: 'v2', mergePolicy: 'Merge', data: fixed } }
          : {}),
      },
      data: Object.entries(keys).map(([secretKey, property]) => ({
        secretKey,
        remoteRef: { key: remoteKey, property },
      })),
    },
  };
}

/**
 * One of the env's own Secrets in plain files, as its secrets mode has it: `plain` values
 * in a Secret (dev), or an ExternalSecret reading `fromStore` (Secret key -> property of
 * `remoteKey`, with `fixed` values merged in); sops mode seals it instead (sealed.ts).
 * File name -> object.
 */
export function modeSecret(
  o: Options,
  file: string,
  name: string,
  plain: Record<string, string>,
  fromStore: Record<string, string>,
  remoteKey?: string,
  fixed?: Record<string, string>,
): Record<string, object> {
  if (o.settings.secrets === 'plain') return { [`secret-${file}.yaml`]: plainSecret(name, plain) };
  if (o.settings.secrets === 'external')
    return { [`externalsecret-${file}.yaml`]: externalSecret(o, name, fromStore, remoteKey, undefined, fixed) };
  return {};
}
