// Encryption at rest: MinIO's built-in KMS with one static key (MINIO_KMS_SECRET_KEY,
// "<name>:<32 bytes, base64>"), which seals the data key of every object written to a
// bucket with default encryption (SSE-S3). The key is made once and never replaced: the
// objects it sealed are unreadable without it (docs/hardening.md). The bootstrap sets each
// bucket's default encryption (bootstrap.conf: `encryption <bucket> sse-s3|off`).
import type { BucketSettings } from '../consumers.ts';
import type { Options } from '../options.ts';
import { modeSecret } from './secrets.ts';

/** The Secret in MinIO's namespace that holds the key (key kmsSecretKey). */
export const KMS_SECRET = 'minio-kms-key';
export const KMS_SECRET_KEY = 'kmsSecretKey';
/** Its name in --rotate's refusal and in the record. */
export const KMS_CREDENTIAL = 'kms';
/** The key's name, the part before the colon: MinIO reports it as the SSE-S3 key ID. */
export const KMS_KEY_NAME = 'minio-kms';

const KEY_FORMAT = new RegExp(`^${KMS_KEY_NAME}:[A-Za-z0-9+/]{43}=$`);

/** Why a value is no key MinIO accepts (32 bytes, base64, after the key's name), or undefined. */
export function kmsKeyProblem(value: string): string | undefined {
  if (!KEY_FORMAT.test(value) || Buffer.from(value.slice(KMS_KEY_NAME.length + 1), 'base64').length !== 32) {
    return `is not ${KMS_KEY_NAME}: followed by 32 bytes in base64 (MINIO_KMS_SECRET_KEY)`;
  }
  return undefined;
}

/** The dev env's fixed key (plain mode: public, like the other dev credentials). */
const DEV_KEY = `${KMS_KEY_NAME}:${Buffer.from('minio-gitops dev key, not secret').toString('base64')}`;

export function hasKms(o: Options): boolean {
  return o.settings.kms === 'static';
}

/**
 * The default encryption the bootstrap keeps on a bucket: as configured, else SSE-S3 when
 * the env has a KMS; nothing (undefined) when neither says, so encryption someone set up
 * with a KMS of their own is left alone.
 */
export function bucketEncryption(o: Options, b: BucketSettings): 'sse-s3' | 'off' | undefined {
  const on = b.encryption ?? (hasKms(o) ? true : undefined);
  return on === undefined ? undefined : on ? 'sse-s3' : 'off';
}

/** The servers' environment for the key (the overlay's server patch). */
export function kmsEnv(o: Options): object[] {
  return hasKms(o)
    ? [{ name: 'MINIO_KMS_SECRET_KEY', valueFrom: { secretKeyRef: { name: KMS_SECRET, key: KMS_SECRET_KEY } } }]
    : [];
}

/** The key's Secret for plain and external mode (sops mode seals it in sealed/<env>/): file name -> object. */
export function kmsSecretObjects(o: Options): Record<string, object> {
  return hasKms(o)
    ? modeSecret(o, 'kms-key', KMS_SECRET, { [KMS_SECRET_KEY]: DEV_KEY }, { [KMS_SECRET_KEY]: KMS_SECRET_KEY })
    : {};
}
