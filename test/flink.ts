// The Flink harness of the tests (tools/flink-check, built by tools/install-flink.sh into
// .tools/flink/1.20.0): a real Flink 1.20.0 MiniCluster in one JVM that checkpoints to a test
// MinIO with the presto S3 filesystem loaded as a plugin (CheckpointCheck), and a checker of
// configuration key names against a Flink version's own option classes (KeyCheck, with the
// jars in .tools/flink-keys/VERSION). Locally a missing build skips the test; with CI it fails.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { REPO, tempDir, unavailable } from './tools.ts';

export const FLINK_VERSION = '1.20.0';
const FLINK_HOME = join(REPO, '.tools', 'flink', FLINK_VERSION);
const FLINK_KEYS = join(REPO, '.tools', 'flink-keys');

/** Where a pod of the rendered configuration finds its truststore (env.java.opts.all). */
export const POD_TRUSTSTORE = '/etc/minio-gitops/trust/truststore.p12';

export interface Flink {
  /** The classpath: the harness jar and its lib/. */
  classpath: string;
  /** FLINK_PLUGINS_DIR: plugins/s3-fs-presto/flink-s3-fs-presto-1.20.0.jar. */
  pluginsDir: string;
  java: string;
}

/** The built harness, or: skip the test (locally) / fail it (CI) saying how to get it. */
export function needFlink(ctx: { skip: (note?: string) => void }): Flink {
  const jar = join(FLINK_HOME, 'flink-check.jar');
  const pluginsDir = join(FLINK_HOME, 'plugins');
  const java = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' });
  if (java.status !== 0) unavailable(ctx, 'java is not installed: the Flink harness needs a Java 17');
  if (!existsSync(jar) || !existsSync(join(pluginsDir, 's3-fs-presto', `flink-s3-fs-presto-${FLINK_VERSION}.jar`))) {
    unavailable(
      ctx,
      `the Flink ${FLINK_VERSION} harness is not built: run \`bash tools/install.sh\` (or tools/install-flink.sh; needs Maven and Java 17)`,
    );
  }
  return { classpath: `${jar}:${join(FLINK_HOME, 'lib', '*')}`, pluginsDir, java: java.stdout.trim() };
}

export interface CompletedCheckpoint {
  id: number;
  durationMs: number;
  stateSize: number;
  checkpointedSize: number;
  triggerTimestamp: number;
  externalPath: string;
}

export interface RestoreResult {
  from: 'checkpoint' | 'savepoint';
  path: string;
  jobId: string;
  restoredCheckpointId: number | null;
  restoredExternalPath: string | null;
  /** The first index the restored source produced: its restored position. */
  sourceOffset: number;
  lastIndex: number;
  records: number;
  violations: number;
  violationSamples: string[];
  checkpoints: CompletedCheckpoint[];
}

/** The harness's JSON result (see CheckpointCheck.java). */
export interface FlinkCheckResult {
  flinkVersion: string;
  configuration: Record<string, string>;
  effective: {
    checkpointDir: string;
    savepointDir: string;
    numRetained: number;
    intervalMs: number;
    incremental: boolean;
    stateBackend: string;
    retention: string;
  };
  fileSystem: { scheme: string; class: string; pluginsDir: string; prestoOnClasspath: boolean };
  job: {
    jobId: string;
    jobDir: string;
    stateBackend: string;
    checkpointStorage: string;
    triggerGapsMs: number[];
    inProgressChkDirsSeen: number[];
    retainedWhileRunning: number[];
    sharedFiles: number;
    sharedBytes: number;
    sharedFilesOverInlineThreshold: number;
    latestCheckpointKeyedHandles: string[];
    latestCheckpointSharedRefs: number;
    recordsProcessed: number;
    violations: number;
    checkpoints: CompletedCheckpoint[];
  };
  savepoint: { path: string; durationMs: number };
  afterCancel: { retained: number[]; latest: string; lastIndexProcessed: number };
  restores: RestoreResult[];
  control: { sourceOffset: number; records: number; violations: number };
  denied: { path: string; message: string };
  expiryDemo?: {
    checkpoint: string;
    referencedSharedFiles: number;
    deletedFile: string;
    deletedFileSize: number;
    deletedFileOlderThanCheckpointMs: number;
    referencedByRetainedCheckpoints: number[];
    readError: string;
    error: string[];
    notFoundInTrace: boolean;
  };
  phasesMs: Record<string, number>;
  totalMs: number;
  error?: string;
}

export interface FlinkCheckOptions {
  /** The rendered flinkConfiguration, as is (the harness adds only loopback/port/restart settings). */
  flinkConfiguration: Record<string, string>;
  /** The pod's environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION. */
  env: Record<string, string>;
  /** JVM options, e.g. from {@link javaOptsToArgs} of env.java.opts.all (a MiniCluster ignores that key). */
  javaOptions: string[];
  /** A path in another bucket that the consumer must not be able to write. */
  deniedPath: string;
  /** Delete a shared file the latest checkpoint references and show that the restore then fails. */
  expiryDemo?: boolean;
  /** Kill the JVM after this long (default 5 minutes). */
  timeoutMs?: number;
}

/** The log's distinct errors ("Caused by:" and ERROR lines, which a bare tail often misses) and its tail. */
function logSummary(file: string, chars = 4000): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
  const errors = [
    ...new Set(
      text
        .split('\n')
        .filter((l) => /^Caused by:|\bERROR\b/.test(l))
        .map((l) => l.slice(0, 400)),
    ),
  ].slice(-15);
  const tail = text.length > chars ? `…${text.slice(-chars)}` : text;
  return `--- distinct errors in the log ---\n${errors.join('\n')}\n--- log tail ---\n${tail}`;
}

/** Runs CheckpointCheck in its own JVM (-Xmx1g) and returns its result; throws with the log's tail on failure. */
export async function runFlinkCheck(
  ctx: { skip: (note?: string) => void },
  opts: FlinkCheckOptions,
): Promise<FlinkCheckResult> {
  const flink = needFlink(ctx);
  const dir = tempDir('minio-gitops-flink-');
  const confFile = join(dir, 'flink-configuration.json');
  const resultFile = join(dir, 'result.json');
  const logFile = join(dir, 'flink-check.log');
  writeFileSync(confFile, JSON.stringify(opts.flinkConfiguration, null, 2));
  const args = [
    '-Xmx1g',
    // Flink's temp files (RocksDB's local dirs, the RPC jar, blobs) and presto's staging files.
    `-Djava.io.tmpdir=${dir}`,
    ...opts.javaOptions,
    '-cp',
    flink.classpath,
    'minio.gitops.flink.CheckpointCheck',
    confFile,
    opts.deniedPath,
    resultFile,
    ...(opts.expiryDemo ? ['--expiry-demo'] : []),
  ];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    ...opts.env,
    AWS_EC2_METADATA_DISABLED: 'true',
    FLINK_PLUGINS_DIR: flink.pluginsDir,
  };
  const log = openSync(logFile, 'w');
  const child = spawn(flink.java, args, { env, stdio: ['ignore', log, log] });
  closeSync(log);
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(`killed after ${timeoutMs / 1000} s`);
    }, timeoutMs);
    child.on('exit', (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? `signal ${signal}`);
    });
  });
  const result: FlinkCheckResult | undefined = existsSync(resultFile)
    ? JSON.parse(readFileSync(resultFile, 'utf8'))
    : undefined;
  if (code !== 0 || !result || result.error) {
    throw new Error(`the Flink check failed (exit ${code}): ${result?.error ?? 'no result'}\n${logSummary(logFile)}`);
  }
  return result;
}

/**
 * One listing of `path` through Flink's filesystem, loaded as the harness loads it (S3Probe): for
 * quick negative checks, e.g. https without the truststore. Returns what happened.
 */
export function probeS3(
  ctx: { skip: (note?: string) => void },
  opts: {
    flinkConfiguration: Record<string, string>;
    env: Record<string, string>;
    javaOptions: string[];
    path: string;
  },
): { ok: boolean; entries?: number; error?: string } {
  const flink = needFlink(ctx);
  const dir = tempDir('minio-gitops-flink-probe-');
  const confFile = join(dir, 'flink-configuration.json');
  writeFileSync(confFile, JSON.stringify(opts.flinkConfiguration));
  const r = spawnSync(
    flink.java,
    [
      '-Xmx256m',
      `-Djava.io.tmpdir=${dir}`,
      ...opts.javaOptions,
      '-cp',
      flink.classpath,
      'minio.gitops.flink.S3Probe',
      confFile,
      opts.path,
    ],
    {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        ...opts.env,
        AWS_EC2_METADATA_DISABLED: 'true',
        FLINK_PLUGINS_DIR: flink.pluginsDir,
      },
      timeout: 120_000,
    },
  );
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{'))
    throw new Error(`S3Probe failed (exit ${r.status ?? r.signal}): ${r.stderr.slice(-3000)}`);
  return JSON.parse(line);
}

export interface KeyStatus {
  status: 'current' | 'deprecated' | 'unknown';
  /** For a deprecated key: the primary key of the option it falls back to. */
  primary?: string;
  /** The key is primary only of option fields (or classes) annotated @Deprecated. */
  deprecatedField?: boolean;
  primaryOf: { field: string; deprecatedField: boolean }[];
  fallbackOf: { field: string; primary: string; deprecatedKey: boolean; deprecatedField: boolean }[];
}

/** The Flink versions whose jars tools/install-flink.sh fetches for {@link flinkKeyCheck}. */
export const FLINK_KEY_VERSIONS = ['1.18.1', '1.19.1', '1.20.0', '2.0.0', '2.1.0'] as const;

/**
 * Checks key names against a Flink version's own option classes (every public *Options class
 * under org.apache.flink in flink-core, flink-streaming-java, flink-runtime and
 * flink-statebackend-rocksdb of that version): current, deprecated (naming its primary key) or unknown.
 * Throws when an option class of that version could not be loaded (the scan would be incomplete).
 */
export async function flinkKeyCheck(
  ctx: { skip: (note?: string) => void },
  version: string,
  keys: string[],
): Promise<Record<string, KeyStatus>> {
  const flink = needFlink(ctx);
  const jars = join(FLINK_KEYS, version);
  if (!existsSync(join(jars, `flink-core-${version}.jar`))) {
    unavailable(
      ctx,
      `the Flink ${version} jars for the key check are not in .tools/flink-keys: run \`bash tools/install.sh\``,
    );
  }
  const out = execFileSync(flink.java, ['-cp', flink.classpath, 'minio.gitops.flink.KeyCheck', jars, ...keys], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  const report = JSON.parse(out) as {
    version: string;
    classesFailed: Record<string, string>;
    optionCount: number;
    keys: Record<string, KeyStatus>;
  };
  if (report.version !== version) throw new Error(`KeyCheck read flink-core ${report.version}, not ${version}`);
  const failed = Object.entries(report.classesFailed);
  if (failed.length > 0)
    throw new Error(
      `KeyCheck could not load option classes of Flink ${version}: ${failed.map(([c, e]) => `${c}: ${e}`).join('; ')}`,
    );
  if (report.optionCount < 100)
    throw new Error(`KeyCheck found only ${report.optionCount} options in Flink ${version}`);
  return report.keys;
}

/**
 * env.java.opts.all as JVM arguments, split on whitespace (single or double quotes group), with
 * the in-pod truststore path replaced by a local file: -Djavax.net.ssl.trustStore=<pod path>
 * becomes <localTrustStore>. Throws when the options name a truststore and no local one is given,
 * or name another path than the pod's.
 */
export function javaOptsToArgs(
  opts: string | undefined,
  localTrustStore?: string,
  podTrustStore = POD_TRUSTSTORE,
): string[] {
  if (!opts) return [];
  const args: string[] = [];
  let cur = '';
  let has = false;
  let quote: string | null = null;
  for (const ch of opts) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) args.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (quote) throw new Error(`env.java.opts.all has an unbalanced ${quote}: ${opts}`);
  if (has) args.push(cur);
  return args.map((a) => {
    const prefix = '-Djavax.net.ssl.trustStore=';
    if (!a.startsWith(prefix)) return a;
    const path = a.slice(prefix.length);
    if (path !== podTrustStore)
      throw new Error(`env.java.opts.all names the truststore ${path}, not the pod's ${podTrustStore}`);
    if (!localTrustStore) throw new Error(`env.java.opts.all names the truststore ${path}: give a local file for it`);
    return `${prefix}${localTrustStore}`;
  });
}

/**
 * A PKCS12 truststore: the JDK's cacerts plus the given CA (PEM), made with keytool. A stand-in
 * for the trust bundle that the cluster mounts at the pod's truststore path.
 */
export function makeTruststore(dir: string, caPem: string, password = 'changeit'): string {
  const props = spawnSync('java', ['-XshowSettings:properties', '-version'], { encoding: 'utf8' });
  const javaHome = /java\.home = (.+)/.exec(props.stderr)?.[1]?.trim();
  if (!javaHome) throw new Error(`cannot find java.home: ${props.stderr.slice(0, 500)}`);
  const cacerts = join(dir, 'cacerts');
  copyFileSync(join(javaHome, 'lib', 'security', 'cacerts'), cacerts);
  const store = join(dir, 'truststore.p12');
  const keytool = join(javaHome, 'bin', 'keytool');
  execFileSync(
    keytool,
    [
      '-importkeystore',
      '-noprompt',
      '-srckeystore',
      cacerts,
      '-srcstorepass',
      'changeit',
      '-destkeystore',
      store,
      '-deststoretype',
      'PKCS12',
      '-deststorepass',
      password,
    ],
    { stdio: 'pipe' },
  );
  execFileSync(
    keytool,
    [
      '-importcert',
      '-noprompt',
      '-alias',
      'minio-gitops-test-ca',
      '-file',
      caPem,
      '-keystore',
      store,
      '-storetype',
      'PKCS12',
      '-storepass',
      password,
    ],
    { stdio: 'pipe' },
  );
  return store;
}
