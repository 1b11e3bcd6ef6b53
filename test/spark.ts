// Spark + Iceberg against a real Iceberg REST catalog server for tests, with the pinned tools
// from tools/install-spark.sh, all on the default Java 17: Apache Iceberg's own REST catalog
// server (the apache/iceberg-rest-fixture image's code, .tools/bin/iceberg-rest) and pyspark in
// .tools/spark-venv (.tools/bin/spark-python). Every server listens on 127.0.0.1 on random
// ports, in temp dirs, and is stopped when the test ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { onTestFinished } from 'vitest';
import { freePort, REPO, tempDir, unavailable } from './tools.ts';

const BIN = join(REPO, '.tools', 'bin');
const HARNESS = join(REPO, 'test', 'spark', 'iceberg_check.py');

type Ctx = { skip: (note?: string) => void };

/** The venv's python with pyspark (and a java for Spark on the PATH), or skip (locally) / fail (CI). */
export function needSpark(ctx: Ctx): string {
  const python = join(BIN, 'spark-python');
  if (!existsSync(python))
    unavailable(ctx, 'pyspark is not installed: run `bash tools/install.sh` (it sources tools/install-spark.sh)');
  if (spawnSync('java', ['-version'], { stdio: 'ignore' }).status !== 0)
    unavailable(ctx, 'java is not on the PATH: Spark 3.5 needs a Java 17');
  return python;
}

/** The Iceberg REST catalog server's launcher (.tools/bin/iceberg-rest), or skip (locally) / fail (CI). */
export function needCatalogServer(ctx: Ctx): string {
  const server = join(BIN, 'iceberg-rest');
  if (!existsSync(server))
    unavailable(
      ctx,
      'the Iceberg REST catalog server is not built: run `bash tools/install.sh` (it sources tools/install-spark.sh; needs Maven)',
    );
  if (spawnSync('java', ['-version'], { stdio: 'ignore' }).status !== 0)
    unavailable(ctx, 'java is not on the PATH: the Iceberg REST catalog server needs a Java 17');
  return server;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills a process started with `detached: true` and everything in its process group. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

function tail(file: string, chars = 4000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-chars);
  } catch {
    return '';
  }
}

export interface CatalogServer {
  /** The Iceberg REST base URI, http://127.0.0.1:PORT */
  uri: string;
  /** The directory holding the SQLite catalog file (pass it as `dataDir` to start on the same catalog). */
  dataDir: string;
  /** Seconds from launch until GET /v1/config answered. */
  startSeconds: number;
  /** The server's log so far. */
  log(): string;
  /** GET a path of the REST API (e.g. /v1/config) and parse the JSON answer (big integers as strings); throws unless 200. */
  get(path: string): Promise<any>;
  /** Stops the server the way Kubernetes does (SIGTERM, then SIGKILL after 10 s); resolves when it exited. */
  stop(): Promise<void>;
}

/**
 * Starts Iceberg's REST catalog server (upstream RESTCatalogServer 1.10.1 bound to 127.0.0.1,
 * .tools/bin/iceberg-rest) with `env` as its environment besides PATH/HOME, read by upstream's
 * RCKUtils exactly as in the image (CATALOG_* -> catalog properties). Test-only changes: the
 * SQLite file of CATALOG_URI moves into `dataDir` (a temp dir unless given), CATALOG_REST_PORT
 * is a random free port, and `javaOptions` become JAVA_TOOL_OPTIONS (as the image's JVM gets
 * them). Waits (bounded) until GET /v1/config answers 200.
 */
export async function startCatalogServer(
  ctx: Ctx,
  opts: { env: Record<string, string>; javaOptions: string[]; dataDir?: string },
): Promise<CatalogServer> {
  const server = needCatalogServer(ctx);
  const dir = tempDir('minio-gitops-iceberg-rest-');
  const dataDir = opts.dataDir ?? tempDir('minio-gitops-iceberg-catalog-');
  if ('JAVA_TOOL_OPTIONS' in opts.env)
    throw new Error('pass JAVA_TOOL_OPTIONS as javaOptions (the trust store path must be replaced)');
  if (opts.javaOptions.some((o) => /\s/.test(o)))
    throw new Error(`a JVM option has white space (JAVA_TOOL_OPTIONS is split on it): ${opts.javaOptions.join(' ')}`);
  const sqlite = /^jdbc:sqlite:(?:file:)?(\/[^?]+)$/.exec(opts.env.CATALOG_URI ?? '')?.[1];
  if (!sqlite) throw new Error(`CATALOG_URI is not a SQLite file: ${opts.env.CATALOG_URI}`);
  const port = await freePort();
  const logFile = join(dir, 'iceberg-rest.log');
  const out = openSync(logFile, 'a');
  const started = Date.now();
  const child = spawn(server, [], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...opts.env,
      CATALOG_URI: `jdbc:sqlite:${join(dataDir, basename(sqlite))}`,
      CATALOG_REST_PORT: String(port),
      ...(opts.javaOptions.length ? { JAVA_TOOL_OPTIONS: opts.javaOptions.join(' ') } : {}),
      // Heap for a test; sqlite-jdbc unpacks its native library into the temp dir, not /tmp.
      JAVA_OPTS: `-Xmx512m -Dorg.sqlite.tmpdir=${dir}`,
    },
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => killGroup(child), 10_000);
    await exited;
    clearTimeout(timer);
  };
  onTestFinished(stop);

  const uri = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const res = await fetch(`${uri}${path}`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${text.slice(0, 2000)}`);
    // Snapshot ids are 64-bit: integers of 16+ digits are quoted first, so they stay exact.
    return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
  };
  const deadline = Date.now() + 120_000;
  let last = '';
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `the Iceberg REST catalog server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(logFile)}`,
      );
    try {
      await get('/v1/config');
      break;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline || i > 1000) {
      await stop();
      throw new Error(
        `the Iceberg REST catalog server was not ready within 120 s (last answer: ${last.slice(0, 2000)}):\n${tail(logFile)}`,
      );
    }
    await sleep(250);
  }
  return { uri, dataDir, startSeconds: (Date.now() - started) / 1000, log: () => tail(logFile, 200_000), get, stop };
}

export interface SparkStep {
  name: string;
  seconds: number;
  detail?: any;
}

export interface SparkResult {
  ok: boolean;
  error?: string;
  traceback?: string;
  exitCode: number | null;
  /** Wall time of the whole run (JVM start, Ivy resolution, every step), seconds. */
  seconds: number;
  steps: SparkStep[];
  /** The table's FileIO: class and properties (secrets redacted). */
  fileIo?: { class: string; properties: Record<string, string> };
  /** The step by name; throws when the run did not get there. */
  step(name: string): SparkStep;
  /** The end of Spark's stderr. */
  log: string;
}

/**
 * Runs test/spark/iceberg_check.py with the venv's python: SPARK_CONF_DIR holds `sparkDefaults`
 * as spark-defaults.conf, which Spark loads natively; Ivy's cache is .tools/ivy. `env` (the S3
 * credentials, AWS_REGION) is the environment besides PATH/HOME/JAVA_HOME. Spark's home is a
 * temp dir linking the pyspark package's bin and jars, so local-cluster workers keep their work
 * dirs (executor logs, fetched jars) in the test's temp dir. `mode` 'read' only checks the
 * table's rows and snapshots as the full run leaves them (after a catalog restart). Bounded;
 * all its JVMs are killed at the end.
 */
export async function runSparkIceberg(
  ctx: Ctx,
  opts: {
    sparkDefaults: string;
    env: Record<string, string>;
    master: string;
    deniedPath: string;
    table?: string;
    mode?: 'full' | 'read';
    timeoutSeconds?: number;
  },
): Promise<SparkResult> {
  const python = needSpark(ctx);
  const dir = tempDir('minio-gitops-spark-');
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  writeFileSync(join(conf, 'spark-defaults.conf'), opts.sparkDefaults);
  // The pyspark package is a Spark home (bin, jars); link it so that work dirs land in `dir`.
  const pysparkHome = spawnSync(python, ['-c', 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'], {
    encoding: 'utf8',
  }).stdout.trim();
  if (!pysparkHome) throw new Error('cannot find the pyspark package in the venv');
  const sparkHome = join(dir, 'spark-home');
  mkdirSync(sparkHome);
  for (const entry of ['bin', 'jars', 'python', 'sbin'])
    if (existsSync(join(pysparkHome, entry))) symlinkSync(join(pysparkHome, entry), join(sparkHome, entry));
  mkdirSync(join(dir, 'local'));
  const output = join(dir, 'result.json');
  const logFile = join(dir, 'spark.log');
  const out = openSync(logFile, 'a');
  const timeout = opts.timeoutSeconds ?? 480;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    ...(process.env.JAVA_HOME ? { JAVA_HOME: process.env.JAVA_HOME } : {}),
    SPARK_HOME: sparkHome,
    SPARK_CONF_DIR: conf,
    SPARK_LOCAL_DIRS: join(dir, 'local'),
    // Every listener (driver, block managers, local-cluster master and workers) on loopback.
    SPARK_LOCAL_IP: '127.0.0.1',
    PYSPARK_PYTHON: python,
    PYSPARK_SUBMIT_ARGS: 'pyspark-shell',
    ICEBERG_CHECK_TIMEOUT: String(timeout - 30),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...opts.env,
  };
  const started = Date.now();
  const child = spawn(
    python,
    [HARNESS, opts.master, opts.table ?? 'minio_gitops.events', opts.deniedPath, output, opts.mode ?? 'full'],
    {
      cwd: dir,
      env,
      stdio: ['ignore', out, out],
      detached: true,
    },
  );
  closeSync(out);
  onTestFinished(() => killGroup(child));
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => killGroup(child), timeout * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  killGroup(child); // executor JVMs left behind, if any
  const seconds = (Date.now() - started) / 1000;
  const log = tail(logFile, 6000);
  if (!existsSync(output))
    throw new Error(`the Spark harness wrote no result (exit ${exitCode}, ${seconds.toFixed(0)} s):\n${log}`);
  const raw = JSON.parse(readFileSync(output, 'utf8'));
  const steps: SparkStep[] = raw.steps ?? [];
  return {
    ok: raw.ok === true && exitCode === 0,
    error: raw.error,
    traceback: raw.traceback,
    exitCode,
    seconds,
    steps,
    fileIo: raw.file_io,
    log,
    step(name: string) {
      const s = steps.find((x) => x.name === name);
      if (!s) throw new Error(`the Spark run has no step ${name} (it stopped: ${raw.error ?? 'unknown'})`);
      return s;
    },
  };
}
