// The generated repository delivered for real, end to end, as a user runs it: the scaffolder
// (in-process) renders the env into a git repository, the change is merged into main the way
// a pull request is, `git http-backend` serves it on 127.0.0.1, and a real control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes) runs the real
// Flux source-controller and kustomize-controller, cert-manager's controller and
// trust-manager. The test only does what a user does (`kubectl apply -k clusters/<env>`, the
// sops-age Secret, the consumers' namespaces, merges, `flux reconcile`'s annotation, the
// scaffolder's "delete this step" line) and reads: every status is written by the
// controllers, which the managedFields prove. Then `verify --env <env>` must pass.
// Then pull requests, merged and applied by Flux: prod `--rotate flink` (the new sealed
// credentials applied, the bootstrap Job run again), dev `--tls on` (dev's credentials are
// plain, which --rotate refuses: a new trust step, certificates issued, the Job run again);
// both then `--tls off`: Flux prunes exactly what the env no longer renders (the trust step's
// objects when the scaffolder's named step is deleted, the servers' Certificates) and the TLS
// patch's fields leave the server workload.
// Flux is v1.9.3 (tools/install-gitops.sh says why not v1.10), with its own CRDs.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { main } from '../src/cli.ts';
import { needCertManager, startCertManager } from './certmanager.ts';
import { needControlPlane, startControlPlane, until, type ControlPlane } from './controlplane.ts';
import { FLUX_NAMESPACE, gitopsVersions, needFlux, startFlux, type Proc } from './flux.ts';
import { gitRepository, startGitServer } from './gitserver.ts';
import { needKubectl, restarterCommand, serviceAccountKubeconfig } from './restarter.ts';
import { needTool, REPO, tempDir, unavailable } from './tools.ts';

/** Where cert-manager and trust-manager are installed (the env's trustNamespace). */
const CERT_MANAGER_NAMESPACE = 'cert-manager';
/** The consumer whose credentials the pull request rotates (a default consumer). */
const ROTATED = 'flink';
/** Every field manager that writes a status here: the control plane's and the controllers'. */
const CONTROLLERS =
  /^(kube-controller-manager|kube-scheduler|kwok|cert-manager-[a-z-]+|trust-manager|source-controller|kustomize-controller|gotk-[a-z-]+)$/;
/** The field managers of what the test itself writes (kubectl apply/create/annotate, the client's default). */
const TEST_MANAGERS = /^(kubectl|test|node-fetch|unknown)/;

type Condition = {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string | Date;
  observedGeneration?: number;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = {
  apiVersion: string;
  kind: string;
  metadata: k8s.V1ObjectMeta & { name: string };
  spec?: any;
  status?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  type?: string;
};

const io = () => {
  const r = { stdout: '', stderr: '' };
  return { r, io: { out: (t: string) => void (r.stdout += t), err: (t: string) => void (r.stderr += t) } };
};
async function cli(args: string[], out: string) {
  const { r, io: sink } = io();
  const code = await main(args, out, sink);
  return { code, ...r };
}

const condition = (o: Obj | undefined, type: string) =>
  (o?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
const idOf = (o: { apiVersion: string; kind: string; metadata: { name?: string; namespace?: string } }): string =>
  `${o.metadata.namespace ?? ''}_${o.metadata.name}_${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}_${o.kind}`;
const show = (id: string) => {
  const [ns, name, group, kind] = id.split('_');
  return `${kind}${group ? `.${group}` : ''} ${ns ? `${ns}/` : ''}${name}`;
};
const decode = (data: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

interface Step {
  name: string;
  path: string;
  dependsOn: string[];
}

describe.each(['prod', 'dev'])(
  'GitOps end to end, env %s (default options): Flux, cert-manager and trust-manager on a real control plane',
  (env) => {
    it('Flux applies the repository in dependsOn order, the controllers do the rest, verify passes; merged pull requests (prod --rotate, dev --tls on, then --tls off) are applied and pruned exactly', async (ctx) => {
      const began = Date.now();
      const timings: Record<string, number> = {};
      let lap = began;
      const mark = (phase: string) => {
        timings[phase] = (Date.now() - lap) / 1000;
        lap = Date.now();
      };
      const cpBin = needControlPlane(ctx);
      const fluxBin = needFlux(ctx);
      const cmBin = needCertManager(ctx);
      const kubectlBin = needTool(ctx, 'kubectl');
      needKubectl(ctx); // the pinned one plays the restarter Job's command
      const sops = needTool(ctx, 'sops');
      const kustomize = needTool(ctx, 'kustomize');
      // The consumers' and monitoring CRDs the env renders (FlinkEnvironment: ours; ServiceMonitor, FlinkDeployment: tools/install-crds.sh).
      const otherCrds = [
        join(REPO, 'test', 'crds', 'flinkenvironments.platform.confluent.io.yaml'),
        ...['servicemonitors.monitoring.coreos.com', 'flinkdeployments.flink.apache.org'].map((n) =>
          join(REPO, '.tools', 'crds', `${n}.yaml`),
        ),
      ];
      const missingCrds = otherCrds.filter((f) => !existsSync(f));
      if (missingCrds.length > 0)
        unavailable(ctx, `CRDs are missing (${missingCrds.join(', ')}): run \`bash tools/install.sh\``);

      // This env's own age key (the scaffolder makes it on its first run).
      const keyFile = join(tempDir('minio-gitops-age-'), 'keys.txt');
      const savedKey = process.env.SOPS_AGE_KEY_FILE;
      process.env.SOPS_AGE_KEY_FILE = keyFile;
      onTestFinished(() => {
        process.env.SOPS_AGE_KEY_FILE = savedKey;
      });

      // The team's repository, served over http on 127.0.0.1.
      const gitRoot = tempDir('minio-gitops-served-');
      const server = await startGitServer(ctx, gitRoot);
      const repo = gitRepository(gitRoot, 'storage.git');
      const repoUrl = server.repoUrl('storage.git');
      const work = repo.work;

      // The scaffolder, as a user runs it, then the pull request merged into main.
      const first = await cli(['--env', env, '--repo-url', repoUrl, '--out', work], work);
      expect(first.code, first.stderr).toBe(0);
      let sha = repo.merge(`scaffold/${env}`);
      mark('scaffold + merge');

      // What the env renders, from the merged tree: the Flux steps (clusters/<env>) and what each applies.
      const kbuild = (dir: string): Obj[] =>
        YAML.parseAllDocuments(execFileSync(kustomize, ['build', dir], { encoding: 'utf8', timeout: 60_000 })).map(
          (d) => d.toJS() as Obj,
        );
      /** The Flux steps of clusters/<env>, dependencies first. */
      const fluxSteps = (): Step[] => {
        const steps = kbuild(join(work, 'clusters', env))
          .filter((o) => o.kind === 'Kustomization')
          .map((o) => ({
            name: o.metadata.name,
            path: o.spec.path as string,
            dependsOn: ((o.spec.dependsOn ?? []) as { name: string }[]).map((d) => d.name),
          }));
        const ordered: Step[] = [];
        while (ordered.length < steps.length) {
          const next = steps.filter(
            (s) => !ordered.includes(s) && s.dependsOn.every((d) => ordered.some((o) => o.name === d)),
          );
          expect(next.length, 'the dependsOn graph has no cycle').toBeGreaterThan(0);
          ordered.push(...next);
        }
        return ordered;
      };
      const gitRepo = kbuild(join(work, 'clusters', env)).find((o) => o.kind === 'GitRepository')!;
      expect(gitRepo.spec.url).toBe(repoUrl);
      let steps = fluxSteps();
      expect(steps.length).toBeGreaterThanOrEqual(3);
      const stepBuilds = () => Object.fromEntries(steps.map((s) => [s.name, kbuild(join(work, s.path))]));
      let builds = stepBuilds();
      const all = () => Object.values(builds).flat();
      const envNamespace = all().find((o) => o.kind === 'Namespace')!.metadata!.name!;
      const sealed = all().some((o) => 'sops' in o);
      let tls = all().some((o) => o.kind === 'Certificate');
      expect(sealed, 'sealed Secrets').toBe(env === 'prod');
      expect(tls, 'TLS').toBe(env === 'prod');
      const consumerNamespaces = [
        ...new Set(
          all()
            .filter(
              (o) =>
                o.metadata?.namespace &&
                o.metadata.namespace !== envNamespace &&
                o.metadata.namespace !== CERT_MANAGER_NAMESPACE,
            )
            .map((o) => o.metadata!.namespace!),
        ),
      ].sort();
      expect(consumerNamespaces).toEqual(['analytics', 'el-demo']);

      // The control plane with the CRDs of what runs and what the env renders.
      const dir = tempDir('minio-gitops-e2e-');
      const cp: ControlPlane = await startControlPlane(join(dir, 'cluster'), {
        bin: cpBin,
        crdFiles: [...fluxBin.crds, ...cmBin.crds, ...otherCrds],
      });
      onTestFinished(() => cp.stop());
      timings['control plane (API server up)'] = cp.timings.cluster;
      mark('control plane ready');
      const api = k8s.KubernetesObjectApi.makeApiClient(cp.kc);
      const read = (apiVersion: string, kind: string, name: string, namespace?: string) =>
        api
          .read<Obj>({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } })
          .catch((e: { code?: number }) => {
            if (e.code === 404) return undefined;
            throw e;
          });
      const kubectl = (...args: string[]) =>
        execFileSync(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 180_000,
        });

      // Installing Flux and cert-manager (their namespaces, the controllers) and the consumers' apps' namespaces, as an admin does.
      kubectl('create', 'namespace', FLUX_NAMESPACE);
      kubectl('create', 'namespace', CERT_MANAGER_NAMESPACE);
      for (const ns of consumerNamespaces) kubectl('create', 'namespace', ns);
      const procs: Proc[] = [];
      const flux = await startFlux(cp, fluxBin, join(dir, 'flux'));
      procs.push(
        ...flux.procs,
        ...(await startCertManager(cp, cmBin, join(dir, 'cert-manager'), CERT_MANAGER_NAMESPACE)),
      );
      mark('controllers started');

      /** The controllers' log tails and every object's conditions, for a timeout's message. */
      const diagnose = async () => {
        const lines: string[] = [];
        for (const [apiVersion, kind] of [
          ['source.toolkit.fluxcd.io/v1', 'GitRepository'],
          ['kustomize.toolkit.fluxcd.io/v1', 'Kustomization'],
          ['cert-manager.io/v1', 'ClusterIssuer'],
          ['cert-manager.io/v1', 'Issuer'],
          ['cert-manager.io/v1', 'Certificate'],
          ['cert-manager.io/v1', 'CertificateRequest'],
          ['trust.cert-manager.io/v1alpha1', 'Bundle'],
          ['apps/v1', 'StatefulSet'],
          ['apps/v1', 'Deployment'],
          ['batch/v1', 'Job'],
          ['v1', 'Pod'],
          ['v1', 'PersistentVolumeClaim'],
        ] as const) {
          const list = await api.list<Obj>(apiVersion, kind).catch((e) => ({ items: [], error: String(e) }));
          for (const o of list.items) {
            const cs = ((o.status?.conditions ?? []) as Condition[]).map(
              (c) =>
                `${c.type}=${c.status}${c.reason ? `(${c.reason})` : ''}${c.message ? `: ${String(c.message).slice(0, 300)}` : ''}`,
            );
            const extra =
              kind === 'Kustomization'
                ? ` applied=${o.status?.lastAppliedRevision}`
                : kind === 'Pod'
                  ? ` phase=${o.status?.phase} node=${o.spec?.nodeName}`
                  : kind === 'PersistentVolumeClaim'
                    ? ` phase=${o.status?.phase}`
                    : '';
            lines.push(
              `${kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}:${extra} ${cs.join('; ')}`,
            );
          }
        }
        return `${lines.join('\n')}\n${procs.map((p) => `--- ${p.name}${p.exited() ? ` (${p.exited()})` : ''}:\n${p.log().slice(-5000)}`).join('\n')}\n${cp.logs().slice(-3000)}`;
      };
      const checkAlive = () => {
        const gone = procs.map((p) => p.exited()).find(Boolean);
        if (gone) throw new Error(gone);
      };

      // The Flux steps Ready at main's sha, in dependsOn order (the dependencies first).
      const kustomization = (name: string) =>
        read('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', name, FLUX_NAMESPACE);
      const readyAt = async (name: string, revision: string) => {
        const k = await kustomization(name);
        const ready = condition(k, 'Ready');
        const current =
          k?.status?.lastAppliedRevision === `main@sha1:${revision}` &&
          k?.status?.observedGeneration === k?.metadata?.generation;
        return ready?.status === 'True' && current ? k : undefined;
      };
      const allReady = async (what: string, revision: string, seconds: number, names = steps.map((s) => s.name)) => {
        const out: Record<string, Obj> = {};
        for (const name of names) {
          out[name] = await until(
            `${what}: Kustomization ${name} Ready at ${revision.slice(0, 7)}`,
            seconds,
            async () => readyAt(name, revision),
            diagnose,
            checkAlive,
          );
        }
        return out;
      };
      /** `flux reconcile source git`: the annotation it sets, so the new commit is fetched now, not at the next 5m interval. */
      const reconcileSource = () =>
        kubectl(
          '-n',
          FLUX_NAMESPACE,
          'annotate',
          '--overwrite',
          'gitrepository',
          gitRepo.metadata!.name!,
          `reconcile.fluxcd.io/requestedAt=${new Date().toISOString()}`,
        );

      // What the user does: apply clusters/<env>, and the age key for the sealed Secrets, as the scaffolder printed them.
      // The key first, as the scaffolder prints it first: a step with decryption whose Secret is missing fails, and retries only after its retryInterval.
      const sopsLine =
        /^\s*Flux:\s+kubectl (-n flux-system create secret generic sops-age --from-file=age\.agekey=(\S+))$/m.exec(
          first.stdout,
        );
      if (sealed) {
        expect(sopsLine, first.stdout).not.toBeNull();
        expect(sopsLine![2]).toBe(keyFile);
        kubectl(...sopsLine![1]!.split(' '));
      } else {
        expect(sopsLine).toBeNull();
      }
      const applied = Date.now();
      kubectl('apply', '-k', join(work, 'clusters', env));
      const ready = await allReady('first sync', sha, 240);
      timings['Flux: all steps Ready'] = (Date.now() - applied) / 1000;
      mark('first sync');

      // dependsOn order: each step became Ready no earlier than its dependencies, and Flux created none of its objects before.
      const when = (name: string) => new Date(condition(ready[name], 'Ready')!.lastTransitionTime!).getTime();
      const inventory = (k: Obj | undefined) =>
        ((k?.status?.inventory?.entries ?? []) as { id: string }[]).map((e) => e.id).sort();
      for (const s of steps) {
        for (const d of s.dependsOn) {
          // Strictly after: a dependent step waits for its dependency (re-checked every 5 s here).
          expect(when(s.name), `${s.name} Ready after ${d}`).toBeGreaterThan(when(d));
          for (const id of inventory(ready[s.name])) {
            const o = all().find((x) => idOf(x) === id);
            expect(o, `${id} is in the build`).toBeDefined();
            if (o!.kind === 'Namespace') continue;
            const live = await read(o!.apiVersion, o!.kind!, o!.metadata!.name!, o!.metadata!.namespace);
            expect(
              new Date(live!.metadata!.creationTimestamp!).getTime(),
              `${show(id)} created after ${d} was Ready`,
            ).toBeGreaterThanOrEqual(when(d));
          }
        }
      }
      console.log(
        `env ${env}: Flux steps Ready in order: ${steps.map((s) => `${s.name} at +${((when(s.name) - applied) / 1000).toFixed(0)} s`).join(', ')}`,
      );

      // Each step's inventory is exactly its build: Flux applied what the repository says, nothing else.
      const expectInventories = async (label: string) => {
        for (const s of steps)
          expect(inventory(await kustomization(s.name)), `${label}: inventory of ${s.name}`).toEqual(
            builds[s.name]!.map((o) => idOf(o)).sort(),
          );
      };
      await expectInventories('first sync');

      // Secrets: the values of the repository's files (sealed ones as `sops -d` of the file gives them), decrypted by Flux.
      const sealedFiles = () => {
        const files: string[] = [];
        const walk = (d: string) => {
          for (const f of readdirSync(d)) {
            const p = join(d, f);
            if (statSync(p).isDirectory()) walk(p);
            else if (f.endsWith('.yaml') && readFileSync(p, 'utf8').includes('\nsops:')) files.push(p);
          }
        };
        if (existsSync(join(work, 'sealed', env))) walk(join(work, 'sealed', env));
        return files;
      };
      const expectSecrets = async (label: string) => {
        const decrypted = new Map<string, Record<string, string>>();
        for (const file of sealedFiles()) {
          const o = YAML.parse(execFileSync(sops, ['-d', file], { encoding: 'utf8', timeout: 60_000 })) as Obj;
          decrypted.set(`${o.metadata!.namespace ?? envNamespace}/${o.metadata!.name}`, {
            ...decode(o.data),
            ...(o.stringData ?? {}),
          });
        }
        let fromSealed = 0;
        const values: Record<string, Record<string, string>> = {};
        for (const o of all().filter((x) => x.kind === 'Secret')) {
          const key = `${o.metadata!.namespace}/${o.metadata!.name}`;
          const want = 'sops' in o ? decrypted.get(key) : { ...decode(o.data), ...(o.stringData ?? {}) };
          expect(want, `${label}: ${key} is a sealed file's Secret`).toBeDefined();
          if ('sops' in o) fromSealed++;
          const live = await read('v1', 'Secret', o.metadata!.name!, o.metadata!.namespace);
          const got = decode(live?.data);
          expect(got, `${label}: Secret ${key}`).toEqual(want);
          expect(JSON.stringify(got), `${label}: Secret ${key}`).not.toContain('ENC[');
          expect(
            live!.metadata!.managedFields!.map((f) => f.manager),
            `${label}: Secret ${key} written by kustomize-controller`,
          ).toContain('kustomize-controller');
          values[key] = got;
        }
        expect(fromSealed, `${label}: every sealed file is applied`).toBe(decrypted.size);
        if (sealed) expect(fromSealed).toBeGreaterThanOrEqual(5);
        return values;
      };
      let secrets = await expectSecrets('first sync');

      // Certificates: Ready, written by cert-manager, their Secrets' certificates signed by the env's CA for the names asked.
      const expectCertificates = async () => {
        const certs = all().filter((o) => o.kind === 'Certificate');
        const ca = certs.find((c) => c.spec.isCA);
        expect(ca, 'the env has its CA Certificate').toBeDefined();
        const caSecret = await read('v1', 'Secret', ca!.spec.secretName, ca!.metadata!.namespace);
        const caCert = new X509Certificate(Buffer.from(caSecret!.data!['tls.crt']!, 'base64'));
        expect(caCert.ca).toBe(true);
        expect(caCert.verify(caCert.publicKey), 'the CA is self-signed').toBe(true);
        for (const c of certs) {
          const live = await until(
            `Certificate ${c.metadata!.namespace}/${c.metadata!.name} Ready`,
            60,
            async () => {
              const l = await read('cert-manager.io/v1', 'Certificate', c.metadata!.name!, c.metadata!.namespace);
              return condition(l, 'Ready')?.status === 'True' ? l : undefined;
            },
            diagnose,
            checkAlive,
          );
          const statusBy = live!
            .metadata!.managedFields!.filter((f) => f.subresource === 'status')
            .map((f) => f.manager!);
          expect(statusBy.length).toBeGreaterThan(0);
          expect(
            statusBy.every((m) => m.startsWith('cert-manager-')),
            `Certificate status written by ${statusBy}`,
          ).toBe(true);
          const secret = await read('v1', 'Secret', c.spec.secretName, c.metadata!.namespace);
          expect(secret?.type).toBe('kubernetes.io/tls');
          const cert = new X509Certificate(Buffer.from(secret!.data!['tls.crt']!, 'base64'));
          expect(cert.verify(caCert.publicKey), `${c.metadata!.name} is signed by the CA`).toBe(true);
          for (const dns of (c.spec.dnsNames ?? []) as string[])
            expect(cert.subjectAltName, c.metadata!.name).toContain(`DNS:${dns}`);
          expect(secret!.data!['tls.key']).toBeTruthy();
        }
        return certs.length;
      };
      if (tls) console.log(`env ${env}: ${await expectCertificates()} Certificates issued by cert-manager`);

      // The server workload and the bootstrap Job, through the real controllers.
      const serverWorkload = all().find(
        (o) =>
          (o.kind === 'StatefulSet' || o.kind === 'Deployment') &&
          o.metadata!.name === 'minio' &&
          o.metadata!.namespace === envNamespace,
      )!;
      const expectWorkload = async () => {
        const live = (await read(serverWorkload.apiVersion, serverWorkload.kind, 'minio', envNamespace))!;
        const want = serverWorkload.spec.replicas ?? 1;
        expect(live.status?.readyReplicas, `${serverWorkload.kind} minio ready replicas`).toBe(want);
        expect(live.status?.observedGeneration).toBe(live.metadata!.generation);
        expect(live.metadata!.managedFields!.filter((f) => f.subresource === 'status').map((f) => f.manager)).toEqual([
          'kube-controller-manager',
        ]);
        return live;
      };
      await expectWorkload();
      const job = all().find((o) => o.kind === 'Job' && o.metadata.name === 'minio-bootstrap')!;
      const jobComplete = async () => {
        const live = await read('batch/v1', 'Job', job.metadata.name, job.metadata.namespace);
        return condition(live, 'Complete')?.status === 'True' ? live : undefined;
      };
      const firstJob = await until('the bootstrap Job complete', 60, jobComplete, diagnose, checkAlive);
      expect(
        firstJob!.metadata!.managedFields!.filter((f) => f.subresource === 'status').map((f) => f.manager),
      ).toEqual(['kube-controller-manager']);

      /** No status anywhere was written by the test: only by the control plane and the controllers (managedFields). */
      const expectStatusWriters = async (label: string, mustHave: string[]) => {
        const statusWriters = new Map<string, Set<string>>();
        for (const [apiVersion, kind] of [
          ['v1', 'Namespace'],
          ['v1', 'Pod'],
          ['v1', 'PersistentVolumeClaim'],
          ['v1', 'PersistentVolume'],
          ['v1', 'Service'],
          ['v1', 'Node'],
          ['apps/v1', 'StatefulSet'],
          ['apps/v1', 'Deployment'],
          ['apps/v1', 'ReplicaSet'],
          ['batch/v1', 'Job'],
          ['policy/v1', 'PodDisruptionBudget'],
          ['networking.k8s.io/v1', 'Ingress'],
          ['cert-manager.io/v1', 'Certificate'],
          ['cert-manager.io/v1', 'CertificateRequest'],
          ['cert-manager.io/v1', 'Issuer'],
          ['cert-manager.io/v1', 'ClusterIssuer'],
          ['trust.cert-manager.io/v1alpha1', 'Bundle'],
          ['source.toolkit.fluxcd.io/v1', 'GitRepository'],
          ['kustomize.toolkit.fluxcd.io/v1', 'Kustomization'],
          ['platform.confluent.io/v1beta1', 'FlinkEnvironment'],
          ['monitoring.coreos.com/v1', 'ServiceMonitor'],
        ] as const) {
          for (const o of (await api.list<Obj>(apiVersion, kind)).items) {
            for (const f of o.metadata?.managedFields ?? []) {
              if (f.subresource !== 'status') continue;
              const what = `${label}: status of ${kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
              expect(f.manager, what).not.toMatch(TEST_MANAGERS);
              expect(f.manager, what).toMatch(CONTROLLERS);
              if (!statusWriters.has(kind)) statusWriters.set(kind, new Set());
              statusWriters.get(kind)!.add(f.manager!);
            }
          }
        }
        const writers = [...statusWriters].map(([k, m]) => `${k}: ${[...m].sort().join(', ')}`).join('; ');
        for (const kind of mustHave)
          expect(
            [...(statusWriters.get(kind) ?? [])],
            `${label}: someone wrote the status of the ${kind}s (${writers})`,
          ).not.toEqual([]);
        console.log(`env ${env}, ${label}: status writers: ${writers}`);
      };

      // verify, as the user runs it after a sync, with the kubeconfig and --wait (a workload the
      // last step applied may still be starting): every check passes (or is skipped for a reason the env gives).
      const verify = async (label: string) => {
        const r = await cli(
          ['verify', '--env', env, '--out', work, '--kubeconfig', cp.kubeconfig, '--wait', '120s', '--json'],
          work,
        );
        const report = JSON.parse(r.stdout) as {
          ok: boolean;
          checks: { check: string; status: string; detail: string }[];
        };
        expect(
          report.checks.filter((c) => c.status === 'fail'),
          `${label}: verify`,
        ).toEqual([]);
        expect(r.code, r.stderr).toBe(0);
        const skipped = report.checks.filter((c) => c.status === 'skip').map((c) => `${c.check}: ${c.detail}`);
        console.log(
          `env ${env}, ${label}: verify passed ${report.checks.filter((c) => c.status === 'pass').length} checks${skipped.length ? `, skipped: ${skipped.join('; ')}` : ''}`,
        );
        return report;
      };
      const firstVerify = await verify('first sync');
      expect(firstVerify.checks.map((c) => c.check)).toEqual(
        expect.arrayContaining([
          `MinIO ${serverWorkload.kind.toLowerCase()}/minio`,
          'Service minio endpoints',
          `bootstrap Job ${job.metadata!.name}`,
          ...steps.map((s) => `Flux Kustomization ${FLUX_NAMESPACE}/${s.name}`),
        ]),
      );
      await expectStatusWriters('first sync', [
        serverWorkload.kind,
        'Deployment',
        'Job',
        'Pod',
        'Kustomization',
        'GitRepository',
        ...(tls ? ['Certificate', 'CertificateRequest', 'Issuer', 'ClusterIssuer', 'Bundle'] : []),
      ]);
      mark('first sync checks + verify');

      /**
       * A pull request, as a user makes and merges it: the scaffolder re-run with `args`, the
       * branch merged into main; then what the scaffolder prints for after the merge (apply
       * clusters/<env> again, delete a step the env no longer has) and `flux reconcile source git`.
       * Asserts: every step Ready at the new commit with exactly its build as inventory; what the
       * env no longer renders, and only that, pruned (from the inventories and the cluster);
       * everything else the same objects (the Job aside: Flux replaces it when its template
       * changes, and then it must run again and complete); the server workload rolled out to the
       * new template; the Secrets the repository's values; the certificates issued; verify passes.
       */
      const pullRequest = async (label: string, args: string[]) => {
        const began = Date.now();
        const oldSteps = steps;
        const oldObjects = new Map(all().map((o) => [idOf(o), o]));
        const oldInventories = (
          await Promise.all(oldSteps.map(async (s) => inventory(await kustomization(s.name))))
        ).flat();
        const uids = new Map<string, string>();
        for (const [id, o] of oldObjects)
          uids.set(id, (await read(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace))!.metadata.uid!);
        const oldJob = all().find((o) => o.kind === 'Job' && o.metadata.name === 'minio-bootstrap')!;
        const oldJobUid = uids.get(idOf(oldJob))!;
        const secretsBefore = secrets;
        const oldSha = sha;

        const r = await cli(['--env', env, ...args, '--out', work], work);
        expect(r.code, r.stderr).toBe(0);
        sha = repo.merge(`scaffold/${env}`);
        steps = fluxSteps();
        builds = stepBuilds();
        tls = all().some((o) => o.kind === 'Certificate');
        const newIds = new Set(all().map((o) => idOf(o)));
        const removed = [...oldObjects.keys()].filter((id) => !newIds.has(id)).sort();
        const deletions = [
          ...r.stdout.matchAll(/^\s*once merged: kubectl (-n flux-system delete kustomization (\S+))\s/gm),
        ];
        expect(
          deletions.map((m) => m[2]),
          `${label}: the steps to delete`,
        ).toEqual(oldSteps.filter((s) => !steps.some((n) => n.name === s.name)).map((s) => s.name));
        const clustersChanged = repo.git('diff', '--name-only', oldSha, sha, '--', `clusters/${env}`) !== '';
        expect(
          /once merged, apply clusters\//.test(r.stdout),
          `${label}: the scaffolder says to apply clusters/${env} again: ${r.stdout}`,
        ).toBe(clustersChanged);
        if (clustersChanged) kubectl('apply', '-k', join(work, 'clusters', env));
        for (const m of deletions) kubectl(...m[1]!.split(' '), '--timeout=120s');
        reconcileSource();
        // An erasure-coded env's servers restart together (docs/operations.md): Flux applies the
        // StatefulSet, which replaces no pod by itself (OnDelete), and recreates the restarter Job
        // with the new configuration hash (force); kwok runs no container, so its command is
        // played here exactly as rendered, as its ServiceAccount: it deletes every server at once.
        // The step is Ready only once they are all back on the new template (its CEL health check).
        const configOf = (o: Obj | undefined) =>
          ['minio-gitops.io/base', 'minio-gitops.io/config']
            .map((l) => o?.spec.template.metadata?.labels?.[l] ?? '')
            .join('/');
        const servers = all().find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'minio');
        const restarter = all().find((o) => o.kind === 'Job' && o.metadata.name === 'minio-restarter');
        const restarted = Boolean(
          servers &&
            restarter &&
            configOf(servers) !==
              configOf([...oldObjects.values()].find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'minio')),
        );
        if (restarted) {
          const args = JSON.stringify(restarter!.spec.template.spec.containers[0].args);
          await until(
            `${label}: the restarter Job recreated by Flux with the new hash, and complete`,
            120,
            async () => {
              const live = await read('batch/v1', 'Job', 'minio-restarter', envNamespace);
              return live &&
                JSON.stringify(live.spec.template.spec.containers[0].args) === args &&
                condition(live, 'Complete')?.status === 'True'
                ? live
                : undefined;
            },
            diagnose,
            checkAlive,
          );
          const stale = await until(
            `${label}: the StatefulSet's new template observed`,
            60,
            async () => {
              const live = await read(servers!.apiVersion, servers!.kind, 'minio', envNamespace);
              return live &&
                live.status?.observedGeneration === live.metadata.generation &&
                configOf(live) === configOf(servers)
                ? live
                : undefined;
            },
            diagnose,
            checkAlive,
          );
          expect(
            stale.status?.updatedReplicas ?? 0,
            `${label}: OnDelete: no server replaced before the restarter`,
          ).toBe(0);
          const ran = restarterCommand(all()).run(await serviceAccountKubeconfig(cp, envNamespace, 'minio-restarter'));
          expect(ran.code, ran.stderr).toBe(0);
          const deleted = [...ran.stdout.matchAll(/^pod "([^"]+)" deleted/gm)].map((m) => m[1]).sort();
          expect(deleted, `${label}: the restarter deleted every server`).toEqual(
            Array.from({ length: servers!.spec.replicas }, (_, i) => `minio-${i}`),
          );
        }

        const after = await allReady(label, sha, 240);
        for (const m of deletions) expect(await kustomization(m[2]!), `${label}: ${m[2]} deleted`).toBeUndefined();
        await expectInventories(label);

        // Pruned: what the env no longer renders, exactly, from the inventories and from the cluster.
        const afterIds = new Set(Object.values(after).flatMap(inventory));
        expect(
          oldInventories.filter((id) => !afterIds.has(id)).sort(),
          `${label}: removed from Flux's inventories`,
        ).toEqual(removed);
        for (const id of removed) {
          const o = oldObjects.get(id)!;
          await until(
            `${label}: ${show(id)} pruned`,
            60,
            async () => ((await read(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace)) ? undefined : true),
            diagnose,
            checkAlive,
          );
        }
        for (const o of all()) {
          const id = idOf(o);
          const live = await read(o.apiVersion, o.kind, o.metadata.name, o.metadata.namespace);
          expect(live, `${label}: ${show(id)} exists`).toBeDefined();
          if (uids.has(id) && o.kind !== 'Job')
            expect(live!.metadata.uid, `${label}: ${show(id)} kept, not replaced`).toBe(uids.get(id));
        }

        // The bootstrap Job: run again when its inputs changed (a new Job, complete, with the new template), else untouched.
        const job = all().find((o) => o.kind === 'Job' && o.metadata.name === 'minio-bootstrap')!;
        const rerun = JSON.stringify(job.spec.template) !== JSON.stringify(oldJob.spec.template);
        const liveJob = await until(
          `${label}: the bootstrap Job ${rerun ? 're-run and ' : ''}complete`,
          120,
          async () => {
            const live = await jobComplete();
            return live && (live.metadata.uid !== oldJobUid) === rerun ? live : undefined;
          },
          diagnose,
          checkAlive,
        );
        expect(liveJob.spec.template.metadata?.annotations ?? {}).toMatchObject(
          job.spec.template.metadata?.annotations ?? {},
        );

        // The server workload rolled out to the new template: its volumes, mounts and environment are the build's.
        const workload = all().find((o) => o.kind === serverWorkload.kind && o.metadata.name === 'minio')!;
        const want = workload.spec.replicas ?? 1;
        const liveWorkload = await until(
          `${label}: ${serverWorkload.kind} minio rolled out`,
          180,
          async () => {
            const l = await read(workload.apiVersion, workload.kind, 'minio', envNamespace);
            const st = l?.status ?? {};
            return st.observedGeneration === l?.metadata.generation &&
              st.readyReplicas === want &&
              st.updatedReplicas === want &&
              (st.replicas ?? want) === want
              ? l
              : undefined;
          },
          diagnose,
          checkAlive,
        );
        expect(shape(liveWorkload), `${label}: the live ${serverWorkload.kind}'s pod template`).toEqual(
          shape(workload),
        );

        secrets = await expectSecrets(label);
        if (tls) await expectCertificates();
        await verify(label);
        timings[`${label}: merged, applied, checked`] = (Date.now() - began) / 1000;
        lap = Date.now();
        const changed = Object.keys({ ...secrets, ...secretsBefore })
          .filter((k) => JSON.stringify(secrets[k]) !== JSON.stringify(secretsBefore[k]))
          .sort();
        return { removed, rerun, changed, oldObjects, liveWorkload, notes: r.stderr, restarted };
      };
      /** What a TLS change shows in the server's pod: its volumes, their mounts and its environment. */
      const shape = (w: Obj) => {
        const pod = w.spec.template.spec;
        const c = (
          pod.containers as {
            name: string;
            env?: { name: string; value?: string }[];
            volumeMounts?: { name: string; mountPath: string }[];
          }[]
        ).find((x) => x.name === 'minio')!;
        return {
          volumes: ((pod.volumes ?? []) as { name: string }[]).map((v) => v.name).sort(),
          mounts: (c.volumeMounts ?? []).map((m) => `${m.name}:${m.mountPath}`).sort(),
          env: (c.env ?? []).map((e) => `${e.name}=${e.value ?? '(ref)'}`).sort(),
        };
      };
      const tlsKinds = ['Certificate', 'Issuer', 'ClusterIssuer', 'Bundle'];
      const kindsOf = (ids: string[], kinds: string[]) => ids.filter((id) => kinds.includes(id.split('_')[3]!)).sort();

      if (sealed) {
        // Rotating a consumer's credentials: Flux applies the new sealed values, the Job runs again with them, nothing is pruned.
        const { removed, rerun, changed } = await pullRequest(`--rotate ${ROTATED}`, ['--rotate', ROTATED]);
        expect(removed).toEqual([]);
        // The consumer's Secret (in its namespace) and its copy for the Job (in MinIO's), nothing else.
        expect(changed.length, `changed Secrets: ${changed}`).toBe(2);
        expect(
          changed.every((k) => k.endsWith(`-${ROTATED}`)),
          `changed Secrets: ${changed}`,
        ).toBe(true);
        expect(rerun, "the rotation changes the Job's inputs").toBe(true);
      } else {
        // --rotate is for sealed credentials (the scaffolder refuses it for plain ones); this env turns TLS on instead: a new trust step, issued certificates, the Job run again.
        const refused = await cli(['--env', env, '--rotate', ROTATED, '--out', work], work);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(/--rotate works on SOPS-sealed credentials/);
        const before = steps.map((s) => s.name);
        const { removed, rerun, changed } = await pullRequest('--tls on', ['--tls', 'on']);
        expect(tls).toBe(true);
        expect(steps.map((s) => s.name).filter((n) => !before.includes(n))).toEqual([`minio-${env}-trust`]);
        expect(removed, 'turning TLS on removes nothing').toEqual([]);
        expect(rerun, "TLS changes the Job's inputs").toBe(true);
        expect(changed.length, "the consumers' endpoints change").toBeGreaterThan(0);
        console.log(
          `env ${env}: --tls on applied (${all().filter((o) => o.kind === 'Certificate').length} Certificates issued), changed Secrets: ${changed.join(', ')}`,
        );
      }

      // Turning TLS off: Flux prunes exactly what the env no longer renders (the trust step's objects on its deletion, the servers' Certificates), the TLS patch's fields go.
      const { removed, rerun, oldObjects, liveWorkload, notes, restarted } = await pullRequest('--tls off', [
        '--tls',
        'off',
      ]);
      expect(tls).toBe(false);
      // The scheme of the servers' endpoints changed: an erasure-coded env's servers restart together, through the restarter.
      expect(restarted).toBe(serverWorkload.kind === 'StatefulSet');
      expect(notes).toMatch(
        serverWorkload.kind === 'StatefulSet' ? /all 4 servers restart together/ : /the server restarts/,
      );
      expect(kindsOf(removed, tlsKinds), 'every Certificate, issuer and Bundle pruned').toEqual(
        kindsOf([...oldObjects.keys()], tlsKinds),
      );
      expect(kindsOf(removed, ['Certificate']).length).toBeGreaterThanOrEqual(2);
      expect(rerun).toBe(true);
      expect(JSON.stringify(liveWorkload.spec.template), "the TLS patch's fields are gone").not.toMatch(
        /minio-tls|https:\/\//,
      );
      console.log(`env ${env}: --tls off pruned ${removed.length} objects: ${removed.map(show).join(', ')}`);
      // cert-manager keeps the Secrets it issued: the run's note names each one, and they are what is left.
      const note = notes.split('\n').find((l) => l.includes('cert-manager keeps the Secrets'));
      expect(note, 'the note on the Secrets cert-manager keeps').toBeDefined();
      const kept = [...note!.matchAll(/kubectl -n (\S+) delete secret ([^;\s]+)/g)]
        .map((m) => `${m[1]}/${m[2]}`)
        .sort();
      expect(kept.length).toBe(kindsOf(removed, ['Certificate']).length);
      for (const id of kept) {
        const [namespace, name] = id.split('/') as [string, string];
        const left = await read('v1', 'Secret', name, namespace);
        expect(
          left?.data?.['tls.crt'],
          `${id}: issued by cert-manager and left behind, as the note says`,
        ).toBeDefined();
      }
      await expectStatusWriters('at the end', [
        serverWorkload.kind,
        'Deployment',
        'Job',
        'Pod',
        'Kustomization',
        'GitRepository',
      ]);
      mark('status writers');
      timings.total = (Date.now() - began) / 1000;
      console.log(
        `env ${env} (${gitopsVersions()}): ${Object.entries(timings)
          .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
          .join(', ')}`,
      );
    }, 900_000);
  },
);
