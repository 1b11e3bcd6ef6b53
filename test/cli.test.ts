// The command as a person runs it: `zx scaffold.ts ...` in a real process, against real
// directories. Bad input must give one line, exit 2 and leave every byte on disk as it was.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { run, snapshot } from './run.ts';
import { REPO, tempDir } from './tools.ts';

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
}

function scaffolded(...envArgs: string[][]): string {
  const out = tempDir();
  for (const args of envArgs) expect(run([...args, '--out', out]).code).toBe(0);
  return out;
}

const read = (out: string, path: string) => readFileSync(join(out, path), 'utf8');

/** Replaces env dev's buckets or consumers in the config file with `yaml` (indented under the env). */
function dataLayout(yaml: string) {
  return (out: string) => {
    const doc = YAML.parseDocument(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8'));
    const [key] = yaml.split(':');
    doc.setIn(['envs', 'dev', key!], YAML.parse(yaml.replace(/^ {4}/gm, ''))[key!]);
    writeFileSync(join(out, 'scaffold.config.yaml'), doc.toString());
  };
}

describe('bad input: one line naming the problem and the fix, exit 2, nothing changed', () => {
  const cases: [string, string[], RegExp, ((out: string) => void)?][] = [
    ['an unknown flag', ['--env', 'dev', '--colour', 'blue'], /unknown option --colour; run with --help/],
    [
      'an unknown value',
      ['--env', 'dev', '--storage', 'nfs'],
      /--storage "nfs" is not allowed; use one of: hostpath, pvc/,
    ],
    ['an invalid env name', ['--env', 'Prod_1'], /--env "Prod_1" is not a valid name/],
    ['a missing --env', ['--storage', 'pvc'], /--env is required/],
    ['--env without its value', ['--env'], /option --env needs a value/],
    ['a stray argument', ['--env', 'dev', 'prod'], /unexpected argument "prod"/],
    [
      'a new env without a profile',
      ['--env', 'staging'],
      /env staging is new: choose its defaults with --profile dev or --profile prod/,
    ],
    [
      'a bad size',
      ['--env', 'prod', '--size', '10XB'],
      /--size "10XB" is not a volume size; use a number with a byte unit of at least 1Mi, e.g. 8Gi/,
    ],
    ['replicas 2', ['--env', 'prod', '--replicas', '2'], /--replicas 2: MinIO erasure coding needs at least 4 servers/],
    ['replicas 3', ['--env', 'prod', '--replicas', '3'], /--replicas 3: MinIO erasure coding needs at least 4 servers/],
    [
      'replicas that are not a number',
      ['--env', 'prod', '--replicas', 'four'],
      /--replicas "four" is not a server count/,
    ],
    [
      'hostpath with replicas > 1',
      ['--env', 'dev', '--replicas', '4'],
      /hostpath storage works only with 1 replica .*use --storage pvc/,
    ],
    [
      'plain credentials for a prod env',
      ['--env', 'prod', '--secrets', 'plain'],
      /--secrets plain would commit credentials in plaintext.*use --secrets sops or --secrets external/,
    ],
    [
      'an on/off flag with another value',
      ['--env', 'dev', '--tls', 'maybe'],
      /--tls "maybe" is not allowed; use on or off/,
    ],
    [
      'an unpinned image',
      ['--env', 'dev', '--image', 'quay.io/minio/minio:latest'],
      /--image .* must be an image pinned by tag or digest/,
    ],
    ['a relative host path', ['--env', 'dev', '--host-path', 'data'], /--host-path "data" is not an absolute path/],
    [
      'an --out that is a file',
      ['--env', 'dev', '--out', 'FILE'],
      /--out .* is not usable: .* is a file; move it away or choose another directory/,
    ],
    [
      'an --out below a file',
      ['--env', 'dev', '--out', 'FILE/sub'],
      /--out .* is not usable: a part of that path is a file/,
    ],
    [
      'an --out in a system directory',
      ['--env', 'dev', '--out', '/proc/minio-gitops-out'],
      /--out \/proc\/minio-gitops-out is a system directory or one that holds others' files; give the generated repository a directory of its own/,
    ],
    [
      'a config file that is not YAML',
      ['--env', 'dev'],
      /scaffold.config.yaml is not valid YAML \(line \d+: .*\); fix the file/,
      (out) => writeFileSync(join(out, 'scaffold.config.yaml'), 'envs:\n  dev: [unclosed\n'),
    ],
    [
      'a config file with an unknown setting',
      ['--env', 'dev'],
      /scaffold.config.yaml: envs.dev.replica is not a known setting; known: profile, namespace, replicas/,
      (out) => writeFileSync(join(out, 'scaffold.config.yaml'), 'envs:\n  dev:\n    replica: 1\n'),
    ],
    [
      'a config file with a bad value',
      ['--env', 'prod'],
      /scaffold.config.yaml: envs.prod.size "ten" is not a volume size/,
      (out) => writeFileSync(join(out, 'scaffold.config.yaml'), 'envs:\n  prod:\n    size: ten\n'),
    ],
    [
      'a config file that is a list',
      ['--env', 'dev'],
      /scaffold.config.yaml must hold a map of settings/,
      (out) => writeFileSync(join(out, 'scaffold.config.yaml'), '- dev\n'),
    ],
    [
      'a namespace that belongs to Kubernetes',
      ['--env', 'prod', '--namespace', 'kube-system'],
      /namespace kube-system belongs to Kubernetes.*choose another with --namespace/,
    ],
    [
      'a namespace shared with a consumer',
      ['--env', 'prod', '--namespace', 'analytics'],
      /namespace analytics is also a consumer, monitoring, ingress or cert-manager \(trust\) namespace/,
    ],
    [
      'a namespace shared with cert-manager (where the CA and trust-manager live)',
      ['--env', 'prod', '--namespace', 'cert-manager'],
      /namespace cert-manager is also a consumer, monitoring, ingress or cert-manager \(trust\) namespace/,
    ],
    [
      'a CA secret with no truststore to use it',
      ['--env', 'prod', '--issuer', 'corp-ca', '--ca-secret', 'corp-ca-key', '--truststore', 'none'],
      /env prod: caSecret corp-ca-key names the CA for trust-manager's truststore, and truststore is none; remove caSecret/,
    ],
    ['a zero size', ['--env', 'prod', '--size', '0'], /--size "0" is not a volume size; use a number with a byte unit/],
    ['a size in millibytes', ['--env', 'prod', '--size', '10m'], /--size "10m" is not a volume size/],
    [
      'an empty --out',
      ['--env', 'dev', '--out', ''],
      /--out needs a directory; leave it out to write beside scaffold.ts/,
    ],
    [
      'a file where a directory belongs',
      ['--env', 'prod'],
      /a part of .*\/overlays\/prod\/\S+ is a file where a directory belongs; move that file away and re-run/,
      (out) => {
        rmSync(join(out, 'overlays/prod'), { recursive: true });
        writeFileSync(join(out, 'overlays/prod'), 'not a directory\n');
      },
    ],
    [
      'requests above limits',
      ['--env', 'dev'],
      /resources\.requests\.memory 2Gi is more than resources\.limits\.memory 1Gi/,
      (out) => {
        const config = readFileSync(join(out, 'scaffold.config.yaml'), 'utf8').replace(/memory: 256Mi/, 'memory: 2Gi');
        writeFileSync(join(out, 'scaffold.config.yaml'), config);
      },
    ],
    [
      'a bad ServiceMonitor label',
      ['--env', 'dev'],
      /serviceMonitorLabels\.release "a b" is not a valid Kubernetes label/,
      (out) => {
        const config = readFileSync(join(out, 'scaffold.config.yaml'), 'utf8').replace(
          'serviceMonitorLabels: {}',
          'serviceMonitorLabels:\n  release: a b',
        );
        writeFileSync(join(out, 'scaffold.config.yaml'), config);
      },
    ],
    [
      'a damaged record of generated files',
      ['--env', 'dev'],
      /scaffold.lock.yaml is damaged; restore it with git/,
      (out) => writeFileSync(join(out, 'scaffold.lock.yaml'), 'files: 3\n'),
    ],
    // Buckets and consumers (edited in the config file: they have no flags).
    [
      'a bucket name against the S3 rules',
      ['--env', 'dev'],
      /envs\.dev\.buckets: bucket name "Flink_State" may hold only lower-case letters, digits, '\.' and '-'.* \(S3 naming rules\); rename it/,
      dataLayout('buckets:\n      Flink_State: {}'),
    ],
    [
      'a bucket name too short',
      ['--env', 'dev'],
      /bucket name "ab" must be 3 to 63 characters long/,
      dataLayout('buckets:\n      ab: {}'),
    ],
    [
      'a bucket name like an IP address',
      ['--env', 'dev'],
      /bucket name "10\.0\.0\.1" must not look like an IP address/,
      dataLayout('buckets:\n      10.0.0.1: {}'),
    ],
    [
      'a prefix without its slash',
      ['--env', 'dev'],
      /envs\.dev\.buckets\.flink\.prefixes\[0\] "checkpoints" is not a prefix; .*ending in '\/'/,
      dataLayout('buckets:\n      flink: {prefixes: [checkpoints]}'),
    ],
    [
      'a lifecycle of 0 days',
      ['--env', 'dev'],
      /lifecycle\[0\]\.expireDays 0 is not a number of days/,
      dataLayout('buckets:\n      flink: {lifecycle: [{prefix: checkpoints/, expireDays: 0}]}'),
    ],
    [
      'a quota without a unit',
      ['--env', 'dev'],
      /envs\.dev\.buckets\.flink\.quota "100" is not a size/,
      dataLayout('buckets:\n      flink: {quota: "100"}'),
    ],
    [
      'versioning on a single server',
      ['--env', 'dev'],
      /env dev: bucket flink has versioning on, but a single MinIO server is not erasure coded .* set versioning: false/,
      dataLayout('buckets:\n      flink: {versioning: true}'),
    ],
    [
      'a consumer of an unknown bucket',
      ['--env', 'dev'],
      /env dev: consumer flink uses bucket checkpoints, which is not among the buckets \(flink, datalake\); add it under buckets/,
      dataLayout('consumers:\n      flink: {namespace: el-demo, kind: flink-cmf, buckets: [checkpoints]}'),
    ],
    [
      'two consumers with one user',
      ['--env', 'dev'],
      /env dev: consumers jobs and reports are both MinIO user shared; give each consumer its own user/,
      dataLayout(
        'consumers:\n      jobs: {namespace: el-demo, kind: flink-cmf, user: shared, buckets: [flink]}\n      reports: {namespace: analytics, kind: flink-operator, user: shared, buckets: [datalake]}',
      ),
    ],
    [
      'a consumer user that is the root user',
      ['--env', 'dev'],
      /consumer flink would be MinIO user dev-admin, the root user of this env/,
      dataLayout('consumers:\n      flink: {namespace: el-demo, kind: flink-cmf, user: dev-admin, buckets: [flink]}'),
    ],
    [
      'an unknown consumer kind',
      ['--env', 'dev'],
      /envs\.dev\.consumers\.flink\.kind "flink-k8s" is not allowed; use one of: flink-cmf, flink-operator, iceberg-spark, iceberg-catalog/,
      dataLayout('consumers:\n      flink: {namespace: el-demo, kind: flink-k8s, buckets: [flink]}'),
    ],
    [
      'a consumer named like a server credential',
      ['--env', 'dev'],
      /consumer name root is reserved/,
      dataLayout('consumers:\n      root: {namespace: el-demo, kind: flink-cmf, buckets: [flink]}'),
    ],
    [
      'a bad Flink version',
      ['--env', 'dev', '--flink-version', '1.20'],
      /--flink-version "1\.20" is not a Flink release; use major\.minor\.patch/,
    ],
    // The consumers' side: the catalog, the truststore, checkpoints, versions.
    [
      'an unknown Flink line',
      ['--env', 'dev', '--flink-version', '1.14.6'],
      /--flink-version 1\.14\.6 is a Flink line this tool does not know the configuration keys of; use a release of 1\.18, 1\.19, 1\.20, 2\.0, 2\.1/,
    ],
    [
      'a future Flink line',
      ['--env', 'prod', '--flink-version', '3.0.0'],
      /--flink-version 3\.0\.0 is a Flink line this tool does not know/,
    ],
    [
      'Spark 4.0 with an Iceberg that has no runtime for it',
      ['--env', 'dev', '--spark-version', '4.0', '--iceberg-version', '1.9.2'],
      /icebergVersion 1\.9\.2 has no runtime for Spark 4\.0 \(iceberg-spark-runtime-4\.0_2\.13 starts at 1\.10\.0\); use --iceberg-version 1\.10\.1, or --spark-version 3\.5/,
    ],
    [
      'an unknown Spark line',
      ['--env', 'dev', '--spark-version', '3.3'],
      /--spark-version "3\.3" is not a Spark line with an Iceberg runtime; use one of: 3\.4, 3\.5, 4\.0/,
    ],
    [
      'a catalog URI that is not a URL',
      ['--env', 'dev'],
      /consumers\.spark\.catalogUri "iceberg-rest:8181" is not an http\(s\) URL with a host; use your REST catalog's URL/,
      dataLayout(
        'consumers:\n      spark: {namespace: analytics, kind: iceberg-spark, buckets: [datalake], catalogUri: "iceberg-rest:8181"}',
      ),
    ],
    [
      'a catalog URI with a token in it',
      ['--env', 'dev'],
      /catalogUri "https:\/\/u:tok@cat\.example\.com\/" carries credentials/,
      dataLayout(
        'consumers:\n      spark: {namespace: analytics, kind: iceberg-spark, buckets: [datalake], catalogUri: "https://u:tok@cat.example.com/"}',
      ),
    ],
    [
      'a JDBC catalog without its URL',
      ['--env', 'dev'],
      /consumers\.spark\.catalogUri is missing: a jdbc catalog needs the JDBC URL/,
      dataLayout(
        'consumers:\n      spark: {namespace: analytics, kind: iceberg-spark, buckets: [datalake], catalog: jdbc}',
      ),
    ],
    [
      'a REST catalog naming no server',
      ['--env', 'dev'],
      /consumers\.spark uses a REST catalog but names none: set catalogServer to a consumer of kind iceberg-catalog/,
      dataLayout('consumers:\n      spark: {namespace: analytics, kind: iceberg-spark, buckets: [datalake]}'),
    ],
    [
      'a catalog server that is no catalog',
      ['--env', 'dev'],
      /env dev: consumer spark names catalogServer flink, which is not a consumer of kind iceberg-catalog/,
      dataLayout(
        'consumers:\n      flink: {namespace: el-demo, kind: flink-cmf, buckets: [flink]}\n      spark: {namespace: analytics, kind: iceberg-spark, buckets: [datalake], catalogServer: flink}',
      ),
    ],
    [
      "a Spark consumer outside its catalog's warehouse",
      ['--env', 'dev'],
      /consumer spark cannot write the warehouse of its catalog server iceberg \(s3:\/\/datalake\/warehouse\/\); add datalake\/warehouse\/ to its buckets/,
      dataLayout(
        'consumers:\n      iceberg: {namespace: analytics, kind: iceberg-catalog, buckets: [datalake/warehouse/]}\n      spark: {namespace: analytics, kind: iceberg-spark, buckets: [datalake/other/], catalogServer: iceberg}',
      ),
    ],
    [
      'a catalog setting on a Flink consumer',
      ['--env', 'dev'],
      /consumers\.flink\.catalogUri does not apply to kind flink-cmf; remove it/,
      dataLayout(
        'consumers:\n      flink: {namespace: el-demo, kind: flink-cmf, buckets: [flink], catalogUri: "http://x:1"}',
      ),
    ],
    [
      'a list where a value belongs, named as a list',
      ['--env', 'dev'],
      /consumers\.flink\.checkpointInterval \["60s"\] \(a list\) is not a Flink duration/,
      dataLayout(
        'consumers:\n      flink: {namespace: el-demo, kind: flink-cmf, buckets: [flink], checkpointInterval: [60s]}',
      ),
    ],
    [
      'a version that YAML made a number',
      ['--env', 'dev'],
      /icebergVersion 1\.1 is a number in YAML \(it lost its last digits\); quote the release, e.g\. "1\.10\.1"/,
      (out) =>
        writeFileSync(
          join(out, 'scaffold.config.yaml'),
          `icebergVersion: 1.10\n${readFileSync(join(out, 'scaffold.config.yaml'), 'utf8').replace(/^icebergVersion: .*\n/m, '')}`,
        ),
    ],
    [
      'a bad checkpoint interval',
      ['--env', 'dev'],
      /consumers\.flink\.checkpointInterval "1 minute" is not a Flink duration/,
      dataLayout(
        'consumers:\n      flink: {namespace: el-demo, kind: flink-cmf, buckets: [flink], checkpointInterval: 1 minute}',
      ),
    ],
    [
      'a lifecycle rule on incremental checkpoints',
      ['--env', 'dev'],
      /env dev: bucket flink has a lifecycle rule on checkpoints\/, where consumer flink keeps incremental Flink checkpoints \(checkpoints\/\).*breaks restores \(404 NoSuchKey\); remove the rule/,
      dataLayout(
        'buckets:\n      flink: {prefixes: [checkpoints/], lifecycle: [{prefix: checkpoints/, expireDays: 30}]}\n      datalake: {prefixes: [warehouse/]}',
      ),
    ],
    [
      "a lifecycle rule above a prefix's checkpoints",
      ['--env', 'dev'],
      /bucket flink has a lifecycle rule on jobs\/, where consumer flink keeps incremental Flink checkpoints \(jobs\/a\/checkpoints\/\)/,
      (out) => {
        dataLayout(
          'buckets:\n      flink: {lifecycle: [{prefix: jobs/, expireDays: 7}]}\n      datalake: {prefixes: [warehouse/]}',
        )(out);
        dataLayout('consumers:\n      flink: {namespace: el-demo, kind: flink-operator, buckets: [flink/jobs/a/]}')(
          out,
        );
      },
    ],
    [
      'a truststore flag on an env without TLS',
      ['--env', 'dev', '--truststore', 'none'],
      /--truststore applies only with TLS on, and env dev has TLS off .*; drop --truststore, or add --tls on/,
    ],
    [
      'a CA secret on an env without TLS',
      ['--env', 'dev', '--ca-secret', 'corp-ca'],
      /--ca-secret applies only with TLS on/,
    ],
    [
      'an unknown truststore',
      ['--env', 'prod', '--truststore', 'jks'],
      /--truststore "jks" is not allowed; use one of: trust-manager, none/,
    ],
    [
      'your own issuer with no CA for the truststore',
      ['--env', 'prod', '--issuer', 'corp-ca'],
      /env prod: the consumers' truststore needs the CA of issuer corp-ca; name the Secret holding it .* with --ca-secret NAME, or use --truststore none/,
    ],
    // Spreading places an erasure-coded env's servers: a single server has none to place.
    [
      'the spreading opt-out on a single-server env',
      ['--env', 'dev', '--spread', 'none'],
      /^error: --spread applies only to an erasure-coded env \(it places the servers on nodes\), and env dev is a single server \(replicas 1\) with nothing to spread; drop --spread$/m,
    ],
    [
      'zone spreading on a single-server env',
      ['--env', 'dev', '--spread', 'zone'],
      /--spread applies only to an erasure-coded env .* env dev is a single server .*; drop --spread/,
    ],
    [
      'spreading in the file for a single-server env',
      ['--env', 'dev'],
      /scaffold\.config\.yaml: envs\.dev\.spread applies only to an erasure-coded env, and env dev is a single server \(replicas 1\); remove spread from envs\.dev/,
      (out) => {
        const doc = YAML.parseDocument(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8'));
        doc.setIn(['envs', 'dev', 'spread'], 'none');
        writeFileSync(join(out, 'scaffold.config.yaml'), doc.toString());
      },
    ],
    [
      'an unknown spreading',
      ['--env', 'prod', '--spread', 'rack'],
      /--spread "rack" is not allowed; use one of: host, zone, none/,
    ],
    // Envs on one cluster: what an env puts in a consumer's namespace is named <MinIO namespace>-...
    [
      'a consumer whose objects would get too long a name',
      ['--env', 'dev'],
      /env dev: consumer stream-processing-jobs-of-the-payments-team-in-eu-west-1's objects would be named minio-dev-stream-processing-jobs-of-the-payments-team-in-eu-west-1, longer than Kubernetes allows \(63 characters\); shorten the consumer's name or the namespace/,
      dataLayout(
        'consumers:\n      stream-processing-jobs-of-the-payments-team-in-eu-west-1: {namespace: el-demo, kind: flink-cmf, buckets: [flink]}',
      ),
    ],
    [
      'a catalog server whose Service would begin with a digit',
      ['--env', 'dev', '--namespace', '0-minio'],
      /env dev: consumer iceberg's Service would be named 0-minio-iceberg, and a Service's name must begin with a letter; use a namespace that begins with one/,
    ],
    [
      'a FlinkDeployment name the Flink operator refuses (over 45 characters)',
      ['--env', 'dev'],
      /env dev: consumer clickstream-aggregator-enrichment-v2's FlinkDeployment would be named minio-dev-clickstream-aggregator-enrichment-v2, longer than the Flink operator accepts \(45 characters\); shorten the consumer's name or the namespace/,
      dataLayout(
        'consumers:\n      clickstream-aggregator-enrichment-v2: {namespace: el-demo, kind: flink-operator, buckets: [flink]}',
      ),
    ],
    [
      'two envs with MinIO in one namespace on one named cluster',
      ['--env', 'prod'],
      /env prod: env dev also renders MinIO's objects in namespace minio-dev on cluster eu-1, and the two would take over each other's objects; give one of them another namespace/,
      (out) => {
        const doc = YAML.parseDocument(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8'));
        doc.set('gitops', 'argocd');
        doc.setIn(['envs', 'dev', 'clusters'], ['eu-1']);
        doc.setIn(['envs', 'prod', 'clusters'], ['eu-1', 'us-1']);
        doc.setIn(['envs', 'prod', 'namespace'], 'minio-dev');
        writeFileSync(join(out, 'scaffold.config.yaml'), doc.toString());
      },
    ],
    [
      "a consumer named like another env's per-env object, on one cluster",
      ['--env', 'prod', '--clusters', 'eu-1'],
      /env prod: env dev also renders FlinkEnvironment el-demo\/minio-dev-flink on cluster eu-1, and the two would take over each other's objects; rename one env's consumer/,
      (out) => {
        const doc = YAML.parseDocument(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8'));
        doc.setIn(['envs', 'dev', 'clusters'], ['eu-1']);
        doc.setIn(
          ['envs', 'prod', 'consumers'],
          YAML.parse('dev-flink: {namespace: el-demo, kind: flink-cmf, buckets: [flink]}'),
        );
        writeFileSync(join(out, 'scaffold.config.yaml'), doc.toString());
      },
    ],
    [
      'two envs recorded before per-env names, on one cluster (prod in namespace minio: only a switch of dev clears it)',
      ['--env', 'prod'],
      /env prod: env dev also renders Secret el-demo\/minio-s3-credentials-flink on cluster eu-1, and the two would take over each other's objects; switch env dev to per-env names \(--consumer-names per-env; docs\/consumers.md, Names\)/,
      (out) => {
        const doc = YAML.parseDocument(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8'));
        doc.deleteIn(['envs', 'dev', 'consumerNames']);
        doc.deleteIn(['envs', 'dev', 'profile']); // dev's profile follows from its name
        doc.setIn(['envs', 'dev', 'clusters'], ['eu-1']);
        doc.setIn(['envs', 'prod'], YAML.parse('{profile: prod, clusters: [eu-1]}'));
        writeFileSync(join(out, 'scaffold.config.yaml'), doc.toString());
      },
    ],
    [
      'a CA secret beside the self-signed issuer',
      ['--env', 'prod', '--ca-secret', 'corp-ca'],
      /caSecret corp-ca is for your own --issuer; with --issuer self-signed the env makes its CA itself/,
    ],
  ];

  it.for(cases)('%s', ([, args, message, prepare]) => {
    // Start from a real scaffold, so "nothing changed" covers existing files too.
    const out = scaffolded(['--env', 'dev'], ['--env', 'prod']);
    writeFileSync(join(out, 'FILE'), 'a file, not a directory\n');
    prepare?.(out);
    const before = snapshot(out);
    const hasOut = args.includes('--out');
    const finalArgs = hasOut ? args.map((a) => (a.startsWith('FILE') ? join(out, a) : a)) : [...args, '--out', out];
    const r = run(finalArgs);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toMatch(message);
    expect(snapshot(out)).toEqual(before);
    expect(existsSync('/proc/minio-gitops-out')).toBe(false);
  });

  it('an --out in a read-only directory (permissions) is refused before anything is written', (ctx) => {
    if (process.getuid?.() === 0)
      ctx.skip('running as root: permission bits do not stop root (the /proc case covers it)');
    const parent = tempDir();
    chmodSync(parent, 0o555);
    const r = run(['--env', 'dev', '--out', join(parent, 'repo')]);
    chmodSync(parent, 0o755);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not writable/);
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('a plan runs whole or not at all', () => {
  it('a directory it would write into cannot be written: refused before the first write', (ctx) => {
    const out = scaffolded(['--env', 'dev']);
    const locked = join(out, 'overlays/dev');
    // Root ignores permission bits; the immutable attribute stops root too.
    const lock = spawnSync('chattr', ['+i', locked], { encoding: 'utf8' });
    if (lock.status !== 0) ctx.skip(`chattr +i is not possible here (${(lock.stderr || 'no chattr').trim()})`);
    try {
      const before = snapshot(out);
      const r = run(['--env', 'dev', '--tls', 'on', '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: overlays\/dev\/ in .* is not writable \(EPERM\)/);
      expect(snapshot(out)).toEqual(before); // base/ was not touched either
    } finally {
      spawnSync('chattr', ['-i', locked]);
    }
  });
});

describe('runs', () => {
  it('an empty envs: in the config file is an empty map', () => {
    const out = tempDir();
    writeFileSync(join(out, 'scaffold.config.yaml'), '# ours\nenvs:\n');
    const r = run(['--env', 'dev', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(YAML.parse(read(out, 'scaffold.config.yaml')).envs.dev.profile).toBe('dev');
    expect(read(out, 'scaffold.config.yaml')).toMatch(/^# ours/);
  });

  it('--dry-run shows hand edits in the plan instead of refusing', () => {
    const out = scaffolded(['--env', 'prod']);
    writeFileSync(join(out, 'overlays/prod/minio/patch-server.yaml'), 'edited\n');
    const before = snapshot(out);
    const r = run(['--env', 'prod', '--dry-run', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^update overlays\/prod\/minio\/patch-server\.yaml {2}\(hand edit\)$/m);
    expect(r.stdout).toMatch(/^-edited$/m);
    expect(r.stdout).toMatch(
      /hand edits a real run would refuse to overwrite \(without --force\): overlays\/prod\/minio\/patch-server\.yaml/,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it('--help prints the usage and exits 0', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npx zx scaffold.ts --env NAME/);
    for (const flag of ['--out', '--storage', '--secrets', '--tls', '--replicas', '--dry-run', '--size', '--profile'])
      expect(r.stdout).toContain(flag);
  });

  it('a re-run on an unchanged config writes no file, and says so', () => {
    const out = scaffolded(['--env', 'dev'], ['--env', 'prod']);
    const before = snapshot(out);
    for (const env of ['dev', 'prod']) {
      const r = run(['--env', env, '--out', out]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/0 created, 0 updated, 0 deleted, \d+ unchanged/);
    }
    expect(snapshot(out)).toEqual(before); // contents and nanosecond mtimes
  });

  it('the same config gives byte-identical trees (new credentials aside, which are random)', () => {
    const a = scaffolded(['--env', 'prod', '--replicas', '6', '--tls', 'on']);
    const b = scaffolded(['--env', 'prod', '--replicas', '6', '--tls', 'on']);
    const contents = (s: ReturnType<typeof snapshot>) =>
      Object.fromEntries(
        Object.entries(s)
          // The sealed files hold new random values, and the Job's checksum follows them.
          .filter(
            ([p]) =>
              !/^sealed\/prod\/(.*\/)?minio-|^scaffold\.lock\.yaml$|^overlays\/prod\/bootstrap\/patch-job\.yaml$/.test(
                p,
              ),
          )
          // The servers' configuration label (and the restarter's selector) carries a checksum of the random root credentials.
          .map(([p, v]) => [p, v.content.replace(/(minio-gitops\.io\/config(?:: |!=))[b-z2-9]{16}/g, '$1HASH')]),
      );
    expect(Object.keys(contents(snapshot(a)))).toContain('sealed/prod/kustomization.yaml');
    expect(contents(snapshot(a))).toEqual(contents(snapshot(b)));
  });

  it('records every choice, so --env alone reproduces the last run', () => {
    const out = scaffolded([
      '--env',
      'prod',
      '--size',
      '20Gi',
      '--replicas',
      '6',
      '--storage-class',
      'fast-ssd',
      '--issuer',
      'corp-ca',
      '--ca-secret',
      'corp-ca-key',
      '--secret-store',
      'vault',
    ]);
    const first = snapshot(out);
    const config = YAML.parse(read(out, 'scaffold.config.yaml'));
    expect(config.envs.prod).toMatchObject({
      size: '20Gi',
      replicas: 6,
      storageClass: 'fast-ssd',
      issuer: 'corp-ca',
      caSecret: 'corp-ca-key',
      secretStore: 'vault',
      profile: 'prod',
    });
    rmSync(join(out, 'base'), { recursive: true });
    rmSync(join(out, 'overlays'), { recursive: true });
    git(out, 'commit', '-qam', 'start over'); // a person's deletions must be committed first
    expect(run(['--env', 'prod', '--out', out]).code).toBe(0);
    const again = snapshot(out);
    for (const [path, { content }] of Object.entries(first)) expect(again[path]?.content, path).toBe(content);
    expect(read(out, 'overlays/prod/minio/patch-storage.yaml')).toContain('storage: 20Gi');
  });

  it('replaces the two former defaults that did not work in a recorded env, with a note each, and keeps what a person chose', () => {
    const out = tempDir();
    // As earlier versions recorded an env: a 7-day expiry of flink/checkpoints/, a catalog URL nothing serves.
    const old = (uri: string) => `envs:
  dev:
    profile: dev
    buckets:
      flink:
        prefixes: [checkpoints/, savepoints/]
        lifecycle: [{prefix: checkpoints/, expireDays: 7}]
      # the lake's bucket
      datalake: {prefixes: [warehouse/]}
    consumers:
      # our stream jobs
      flink: {namespace: el-demo, kind: flink-cmf, user: flink, buckets: [flink]}
      spark: {namespace: analytics, kind: iceberg-spark, user: spark, buckets: [datalake], catalog: rest, catalogUri: "${uri}"}
`;
    writeFileSync(join(out, 'scaffold.config.yaml'), old('http://iceberg-rest.analytics.svc.cluster.local:8181'));
    // CI's --check says why the tree would change.
    const check = run(['--env', 'dev', '--check', '--out', out]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/^note: .*former default 7-day expiry/m);
    const r = run(['--env', 'dev', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^note: scaffold\.config\.yaml: envs\.dev\.buckets\.flink: removed the former default 7-day expiry of checkpoints\/: .*breaks restores$/m,
    );
    expect(r.stderr).toMatch(
      /^note: scaffold\.config\.yaml: envs\.dev\.consumers\.spark: the former default catalogUri http:\/\/iceberg-rest\.analytics\.svc\.cluster\.local:8181 named a service nothing deploys; it now uses the env's own Iceberg REST catalog, consumer iceberg \(added\)$/m,
    );
    const env = YAML.parse(read(out, 'scaffold.config.yaml')).envs.dev;
    expect(env.buckets.flink.lifecycle).toEqual([]);
    expect(env.consumers.spark).toMatchObject({ catalog: 'rest', catalogServer: 'iceberg' });
    expect(env.consumers.spark.catalogUri).toBeUndefined();
    expect(env.consumers.iceberg).toMatchObject({
      namespace: 'analytics',
      kind: 'iceberg-catalog',
      buckets: ['datalake/warehouse/'],
    });
    expect(existsSync(join(out, 'overlays/dev/bootstrap/lifecycle-flink.json'))).toBe(false);
    expect(read(out, 'overlays/dev/consumers/configmap-spark-spark-defaults.yaml')).toContain(
      'spark.sql.catalog.iceberg.uri http://minio-dev-iceberg.analytics.svc.cluster.local:8181',
    );
    // The person's comments inside buckets and consumers stay where they were.
    expect(read(out, 'scaffold.config.yaml')).toContain("# the lake's bucket\n      datalake:");
    expect(read(out, 'scaffold.config.yaml')).toContain('# our stream jobs\n      flink:');
    // Done once: the next run changes nothing and says nothing about it.
    const again = run(['--env', 'dev', '--out', out]);
    expect(again.stdout).toMatch(/0 created, 0 updated, 0 deleted/);
    expect(again.stderr).not.toMatch(/former default/);

    // The name iceberg taken by another consumer: the server gets the next free one.
    const taken = tempDir();
    writeFileSync(
      join(taken, 'scaffold.config.yaml'),
      old('http://iceberg-rest.analytics.svc.cluster.local:8181').replace(
        '      flink: {',
        '      iceberg: {namespace: jobs, kind: flink-operator, user: jobs, buckets: [flink/jobs/]}\n      flink: {',
      ),
    );
    const next = run(['--env', 'dev', '--out', taken]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/it now uses the env's own Iceberg REST catalog, consumer iceberg-catalog \(added\)$/m);
    expect(YAML.parse(read(taken, 'scaffold.config.yaml')).envs.dev.consumers).toMatchObject({
      iceberg: { kind: 'flink-operator' },
      'iceberg-catalog': { kind: 'iceberg-catalog' },
      spark: { catalogServer: 'iceberg-catalog' },
    });
    // ... and when a consumer's MinIO user has the name, so the server does not share the user.
    const user = tempDir();
    writeFileSync(
      join(user, 'scaffold.config.yaml'),
      old('http://iceberg-rest.analytics.svc.cluster.local:8181').replace('user: flink,', 'user: iceberg,'),
    );
    const named = run(['--env', 'dev', '--out', user]);
    expect(named.code, named.stderr).toBe(0);
    expect(YAML.parse(read(user, 'scaffold.config.yaml')).envs.dev.consumers).toMatchObject({
      flink: { user: 'iceberg' },
      'iceberg-catalog': { kind: 'iceberg-catalog' },
    });

    // A URL a person chose stays, whatever it names.
    const own = tempDir();
    writeFileSync(
      join(own, 'scaffold.config.yaml'),
      old('https://polaris.data.example.com/api/catalog').replace(
        'lifecycle: [{prefix: checkpoints/, expireDays: 7}]',
        'lifecycle: []',
      ),
    );
    const kept = run(['--env', 'dev', '--out', own]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stderr).not.toMatch(/former default/);
    expect(YAML.parse(read(own, 'scaffold.config.yaml')).envs.dev.consumers.spark).toMatchObject({
      catalogUri: 'https://polaris.data.example.com/api/catalog',
    });
    expect(YAML.parse(read(own, 'scaffold.config.yaml')).envs.dev.consumers.iceberg).toBeUndefined();
  });

  it('keeps the comments a person wrote in the config file', () => {
    const out = scaffolded(['--env', 'dev']);
    const config = read(out, 'scaffold.config.yaml').replace('envs:', '# our team settings\nenvs:');
    writeFileSync(join(out, 'scaffold.config.yaml'), config);
    expect(run(['--env', 'dev', '--host-path', '/srv/minio', '--leave-data-behind', '--out', out]).code).toBe(0);
    const after = read(out, 'scaffold.config.yaml');
    expect(after).toContain('# our team settings');
    expect(after).toContain('hostPath: /srv/minio');
  });

  it('a second env with MinIO in the namespace of another: a note, unless their clusters differ by name', () => {
    const out = scaffolded(['--env', 'dev']);
    const r = run(['--env', 'lab', '--profile', 'dev', '--namespace', 'minio-dev', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^note: env lab: env dev also renders MinIO's objects in namespace minio-dev: keep the two on different clusters \(on one they would take over each other's objects\), or give one of them another namespace \(--namespace\)$/m,
    );
    // Named clusters that differ: the person said where each runs.
    const doc = YAML.parseDocument(read(out, 'scaffold.config.yaml'));
    doc.setIn(['envs', 'dev', 'clusters'], ['eu-1']);
    writeFileSync(join(out, 'scaffold.config.yaml'), doc.toString());
    const named = run(['--env', 'lab', '--clusters', 'us-1', '--out', out]);
    expect(named.code, named.stderr).toBe(0);
    expect(named.stderr).not.toMatch(/also renders/);
  });

  it('an env rendered before per-env names keeps its names until switched; the switch says what does not follow', () => {
    const out = scaffolded(['--env', 'dev']);
    expect(YAML.parse(read(out, 'scaffold.config.yaml')).envs.dev.consumerNames).toBe('per-env');
    const doc = YAML.parseDocument(read(out, 'scaffold.config.yaml'));
    doc.deleteIn(['envs', 'dev', 'consumerNames']);
    writeFileSync(join(out, 'scaffold.config.yaml'), doc.toString());
    const kept = run(['--env', 'dev', '--out', out]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(YAML.parse(read(out, 'scaffold.config.yaml')).envs.dev.consumerNames).toBe('legacy');
    const name = (file: string) => YAML.parse(read(out, `overlays/dev/consumers/${file}`)).metadata.name;
    expect([
      name('secret-flink.yaml'),
      name('flinkenvironment-flink.yaml'),
      name('deployment-iceberg.yaml'),
      name('persistentvolumeclaim-iceberg-data.yaml'),
      name('configmap-spark-spark-defaults.yaml'),
    ]).toEqual(['minio-s3-credentials-flink', 'flink', 'iceberg', 'iceberg-data', 'spark-spark-defaults']);
    expect(read(out, 'overlays/dev/consumers/configmap-spark-spark-defaults.yaml')).toContain(
      'http://iceberg.analytics.svc.cluster.local:8181',
    );
    // A second run changes nothing.
    const again = run(['--env', 'dev', '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).not.toMatch(/renamed|updated [1-9]/);

    const switched = run(['--env', 'dev', '--consumer-names', 'per-env', '--out', out]);
    expect(switched.code, switched.stderr).toBe(0);
    expect(switched.stderr).toMatch(
      /^note: env dev: per-env names rename the objects in the consumers' namespaces, and their state does not follow: .*savepoint.*catalog\.db.*docs\/consumers\.md \(Names\)/m,
    );
    expect(switched.stderr).toMatch(
      /^note: env dev: renamed in the consumers' namespaces: .*FlinkEnvironment el-demo\/flink is now minio-dev-flink.*PersistentVolumeClaim analytics\/iceberg-data is now minio-dev-iceberg-data.*objects applied by hand stay until you delete them/m,
    );
    expect([name('secret-flink.yaml'), name('flinkenvironment-flink.yaml')]).toEqual([
      'minio-dev-s3-credentials-flink',
      'minio-dev-flink',
    ]);
    // The pull request says it too, where the reviewers read.
    if (existsSync(join(out, '.git')))
      expect(git(out, 'log', '-1', '--format=%B')).toMatch(/^notes:\n {2}env dev: per-env names rename/m);

    // An env only written into the file, never rendered, has no objects to keep: per-env names.
    const written = YAML.parseDocument(read(out, 'scaffold.config.yaml'));
    written.setIn(['envs', 'lab'], YAML.parse('{profile: dev, namespace: minio-lab}'));
    writeFileSync(join(out, 'scaffold.config.yaml'), written.toString());
    const lab = run(['--env', 'lab', '--out', out]);
    expect(lab.code, lab.stderr).toBe(0);
    expect(YAML.parse(read(out, 'scaffold.config.yaml')).envs.lab.consumerNames).toBe('per-env');
    expect(YAML.parse(read(out, 'overlays/lab/consumers/secret-flink.yaml')).metadata.name).toBe(
      'minio-lab-s3-credentials-flink',
    );
  });

  it('--tls off names the Secrets cert-manager issued and keeps, and how to delete them', () => {
    const out = scaffolded(['--env', 'prod']);
    const r = run(['--env', 'prod', '--tls', 'off', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const note = r.stderr.split('\n').find((l) => l.includes('cert-manager keeps the Secrets'));
    expect(note).toMatch(
      /^note: env prod: cert-manager keeps the Secrets it issued for the Certificates this removes \(/,
    );
    for (const secret of ['minio/minio-tls', 'minio/minio-ingress-tls', 'cert-manager/minio-ca'])
      expect(note).toContain(secret);
    expect(note).toContain('kubectl -n minio delete secret minio-tls');
  });

  it('a new env takes --profile and renders beside the others', () => {
    const out = scaffolded(['--env', 'dev']);
    const r = run(['--env', 'staging', '--profile', 'prod', '--replicas', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(read(out, 'overlays/staging/minio/kustomization.yaml')).toContain('../../../base/standalone');
    expect(YAML.parse(read(out, 'scaffold.config.yaml')).envs.staging).toMatchObject({
      profile: 'prod',
      namespace: 'minio-staging',
      secrets: 'sops',
    });
    expect(existsSync(join(out, 'overlays/dev/kustomization.yaml'))).toBe(true);
  });

  it('--dry-run prints the plan with a unified diff and writes nothing', () => {
    const fresh = join(tempDir(), 'repo');
    const r1 = run(['--env', 'prod', '--dry-run', '--out', fresh]);
    expect(r1.code).toBe(0);
    expect(r1.stdout).toMatch(/^create overlays\/prod\/kustomization\.yaml$/m);
    expect(r1.stdout).toMatch(/^\+namespace: minio$/m);
    expect(r1.stdout).toMatch(
      /dry run for env prod .*: \d+ created, 0 updated, 0 deleted, 0 unchanged; nothing written/,
    );
    expect(existsSync(fresh)).toBe(false);

    const out = scaffolded(['--env', 'prod']);
    const before = snapshot(out);
    const r2 = run(['--env', 'prod', '--size', '50Gi', '--dry-run', '--out', out]);
    expect(r2.code).toBe(0);
    // Larger volumes: the claims themselves, the claim template (patch-storage) stays.
    expect(r2.stdout).toMatch(/^create overlays\/prod\/minio\/persistentvolumeclaims-minio\.yaml$/m);
    expect(r2.stdout).not.toMatch(/^update overlays\/prod\/minio\/patch-storage\.yaml$/m);
    expect(r2.stdout).toMatch(/^\+\s+storage: 50Gi$/m);
    expect(r2.stdout).toMatch(/^update scaffold\.config\.yaml$/m);
    expect(r2.stdout).toMatch(/^update overlays\/prod\/README\.md$/m);
    expect(r2.stdout).toMatch(/1 created, 4 updated, 0 deleted/);
    expect(snapshot(out)).toEqual(before);
  });

  it('prints all of a long output into a pipe that is read slowly (no cut at the 64 KiB pipe buffer)', () => {
    const fresh = join(tempDir(), 'repo');
    const zx = join(REPO, 'node_modules', '.bin', 'zx');
    // The reader starts late: the scaffolder has long written (and exited) by then.
    const r = spawnSync('sh', ['-c', `"${zx}" scaffold.ts --env prod --dry-run --out "${fresh}" | (sleep 2; cat)`], {
      cwd: REPO,
      encoding: 'utf8',
      maxBuffer: 16 * 2 ** 20,
    });
    expect(r.stdout.length).toBeGreaterThan(65536);
    expect(r.stdout).toMatch(/^create sealed\/prod\/minio-root-credentials\.yaml {2}\(encrypted; no diff shown\)$/m);
    expect(r.stdout).toMatch(/^dry run for env prod .*nothing written$/m);
  });

  it('removes its own files that are no longer rendered, and only those', () => {
    // One branch for both envs: a run refuses to switch to another existing branch.
    const out = scaffolded(
      ['--env', 'dev', '--storage', 'pvc', '--tls', 'on', '--branch', 'work'],
      ['--env', 'prod', '--branch', 'work'],
    );
    writeFileSync(join(out, 'overlays/dev/NOTES.md'), 'a file of ours\n');
    expect(existsSync(join(out, 'overlays/dev/minio/persistentvolumeclaim.yaml'))).toBe(true);
    const prodBefore = Object.entries(snapshot(out)).filter(([p]) => p.startsWith('overlays/prod/'));
    const r = run([
      '--env',
      'dev',
      '--storage',
      'hostpath',
      '--tls',
      'off',
      '--leave-data-behind',
      '--branch',
      'work',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    for (const gone of [
      'minio/persistentvolumeclaim.yaml',
      'minio/patch-tls.yaml',
      'minio/certificate.yaml',
      'trust/certificate-ca.yaml',
      'trust/clusterissuer-ca.yaml',
      'trust/issuer-selfsigned.yaml',
      'trust/bundle.yaml',
      'trust/kustomization.yaml',
    ]) {
      expect(existsSync(join(out, 'overlays/dev', gone)), gone).toBe(false);
      expect(r.stdout).toContain(`- overlays/dev/${gone}`);
    }
    expect(read(out, 'overlays/dev/NOTES.md')).toBe('a file of ours\n');
    expect(Object.entries(snapshot(out)).filter(([p]) => p.startsWith('overlays/prod/'))).toEqual(prodBefore);
    const lock = YAML.parse(read(out, 'scaffold.lock.yaml')).files;
    expect(Object.keys(lock)).not.toContain('overlays/dev/minio/patch-tls.yaml');
    expect(Object.keys(lock)).toContain('overlays/prod/minio/patch-tls.yaml');
  });

  it('never overwrites a hand edit without --force', () => {
    const out = scaffolded(['--env', 'prod']);
    const edited = read(out, 'overlays/prod/minio/patch-server.yaml').replace('cpu: 500m', 'cpu: 750m');
    writeFileSync(join(out, 'overlays/prod/minio/patch-server.yaml'), edited);
    const before = snapshot(out);
    const r = run(['--env', 'prod', '--console-host', 'console.example.com', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /a generated file was edited by hand or not written by minio-gitops: overlays\/prod\/minio\/patch-server\.yaml; move the change into scaffold\.config\.yaml .* or re-run with --force/,
    );
    expect(snapshot(out)).toEqual(before);

    // --force does not take an uncommitted edit: git has no copy of it, it would be lost.
    const uncommitted = run(['--env', 'prod', '--console-host', 'console.example.com', '--force', '--out', out]);
    expect(uncommitted.code).toBe(2);
    expect(uncommitted.stderr).toMatch(
      /^error: uncommitted changes in files this run would change: overlays\/prod\/minio\/patch-server\.yaml; commit or stash them first/,
    );
    expect(snapshot(out)).toEqual(before);

    git(out, 'commit', '-qam', 'a hand edit');
    const forced = run(['--env', 'prod', '--console-host', 'console.example.com', '--force', '--out', out]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('~ overlays/prod/minio/patch-server.yaml  (hand edit overwritten: --force)');
    expect(read(out, 'overlays/prod/minio/patch-server.yaml')).toContain('https://console.example.com');
    expect(read(out, 'overlays/prod/minio/patch-server.yaml')).not.toContain('750m');
  });

  it('never overwrites a file of the user at a path it wants', () => {
    const out = tempDir();
    mkdirSync(join(out, 'base/common'), { recursive: true });
    writeFileSync(join(out, 'base/common/kustomization.yaml'), 'resources: [mine.yaml]\n');
    const r = run(['--env', 'dev', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/base\/common\/kustomization\.yaml/);
    expect(readdirSync(out)).toEqual(['base']);
    expect(read(out, 'base/common/kustomization.yaml')).toBe('resources: [mine.yaml]\n');
  });

  it('warns that dev credentials and hostPath storage are for development', () => {
    const out = tempDir();
    const r = run(['--env', 'dev', '--out', out]);
    expect(r.stderr).toMatch(
      /^warning: overlays\/dev uses fixed development credentials in a plain Secret: for development only/m,
    );
    expect(r.stderr).toMatch(/^warning: .*privileged/m);
    expect(read(out, 'overlays/dev/README.md')).toMatch(/Development only/);
    expect(run(['--env', 'prod', '--out', out]).stderr).not.toMatch(/^warning:/m);
  });

  it('writes no credential in plaintext for a non-dev env', () => {
    const out = scaffolded(['--env', 'prod'], ['--env', 'staging', '--profile', 'prod', '--replicas', '1']);
    const all = snapshot(out);
    for (const [path, { content }] of Object.entries(all)) {
      expect(content, path).not.toMatch(/dev-password/);
      if (!/^kind: Secret$/m.test(content)) continue;
      // Every Secret outside dev is sealed: sops metadata, and no value in plaintext.
      expect(path).toMatch(/^sealed\/(prod|staging)\//);
      const doc = YAML.parse(content);
      expect(doc.sops.age.length).toBeGreaterThan(0);
      for (const value of Object.values(doc.stringData)) expect(value).toMatch(/^ENC\[AES256_GCM,data:/);
    }
  });
});

describe('the scaffold path loads no Kubernetes client', () => {
  it('runs with @kubernetes/client-node made unloadable (a module hook throws on it)', () => {
    const out = tempDir();
    // A resolve hook in the scaffold's own process: any import of the client fails the run.
    const hook = `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) {
  if (specifier.includes('@kubernetes/client-node') || specifier.includes('/cluster/')) throw new Error('loaded on the scaffold path: ' + specifier);
  return next(specifier, context);
} });`;
    const hookFile = join(out, 'hook.mjs');
    writeFileSync(hookFile, hook);
    const r = spawnSync(
      join(import.meta.dirname, '..', 'node_modules', '.bin', 'zx'),
      ['scaffold.ts', '--env', 'prod', '--out', join(out, 'repo'), '--no-commit'],
      {
        cwd: join(import.meta.dirname, '..'),
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: `--import ${hookFile}` },
      },
    );
    expect(r.stderr).not.toMatch(/loaded on the scaffold path/);
    expect(r.status, r.stderr).toBe(0);
    // The hook works: the cluster commands do load the client, and fail with it.
    const verify = spawnSync(
      join(import.meta.dirname, '..', 'node_modules', '.bin', 'zx'),
      ['scaffold.ts', 'verify', '--env', 'prod', '--out', join(out, 'repo')],
      {
        cwd: join(import.meta.dirname, '..'),
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: `--import ${hookFile}` },
      },
    );
    expect(verify.stderr).toMatch(/loaded on the scaffold path/);
  });
});
