// The live-cluster edge: the kubeconfig, the env's objects as the engine would apply them,
// and a small API client. Only the cluster commands (verify, apply, console) import this
// file, so the scaffold path never loads @kubernetes/client-node.
//
// Requests go out as the JSON the build produced: the client library's typed models would
// drop every field they do not know (a typo, a sops block), and the API server must see
// exactly what the engine will send. The library provides the kubeconfig's credentials.
import * as http from 'node:http';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { fail, UsageError } from '../errors.ts';
import type { Obj } from './objects.ts';

export { k8s };
export { id, type Obj } from './objects.ts';

/** The kubeconfig (--kubeconfig, else KUBECONFIG, else ~/.kube/config) at --context. */
export function loadKubeConfig(file: string | undefined, context: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (error) {
    fail(
      `cannot read the kubeconfig ${file ?? process.env.KUBECONFIG ?? '~/.kube/config'} (${(error as Error).message.split('\n')[0]}); pass --kubeconfig FILE`,
    );
  }
  if (kc.getContexts().length === 0)
    fail(
      `no kubeconfig with a context found (${file ?? process.env.KUBECONFIG ?? '~/.kube/config'}); pass --kubeconfig FILE`,
    );
  if (context) {
    if (!kc.getContextObject(context))
      fail(
        `--context ${context} is not in the kubeconfig; use one of: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')}`,
      );
    kc.setCurrentContext(context);
  }
  return kc;
}

export interface Response {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the API server's JSON, read field by field
  body: any;
}

/** The one line a failed response says (its Status message). */
export function statusMessage(r: Response): string {
  return String(r.body?.message ?? `HTTP ${r.status}`).split('\n')[0]!;
}

export interface Api {
  server: string;
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<Response>;
  /** The object's URL path, or null when the cluster does not serve its API (no CRD). */
  path(apiVersion: string, kind: string, name: string | undefined, namespace?: string): Promise<string | null>;
  /** A live object; undefined when it does not exist. Fails the check on other errors. */
  read(apiVersion: string, kind: string, name: string, namespace?: string): Promise<Obj | undefined>;
}

/** Raised for a refused read (403 and the like): the check fails with the server's words. */
export class ApiRefused extends Error {}

export async function makeApi(kc: k8s.KubeConfig): Promise<Api> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) fail('the kubeconfig context has no cluster server; pass --context');
  const base = new URL(server);
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const transport = base.protocol === 'http:' ? http : https;

  const request = (method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = transport.request(
        {
          ...options,
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port,
          method,
          path: `${base.pathname.replace(/\/$/, '')}${path}`,
          headers: {
            ...(options.headers ?? {}),
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': contentType } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* keep the text */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out after 30s'), { code: 'ETIMEDOUT' })));
      // Not reaching the server is a usage problem (exit 2), not a failed check.
      req.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          new UsageError(
            `cannot reach the API server ${server} (${error.code ?? error.message}); check the kubeconfig and --context`,
          ),
        ),
      );
      if (payload) req.write(payload);
      req.end();
    });

  const discovery = new Map<string, Promise<{ name: string; kind: string; namespaced: boolean }[] | null>>();
  const resources = (apiVersion: string) => {
    if (!discovery.has(apiVersion)) {
      discovery.set(
        apiVersion,
        request('GET', apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`).then((r) => {
          if (r.status === 404) return null;
          if (r.status >= 400) throw new ApiRefused(`discovery of ${apiVersion}: ${statusMessage(r)}`);
          return r.body.resources as { name: string; kind: string; namespaced: boolean }[];
        }),
      );
    }
    return discovery.get(apiVersion)!;
  };

  const path = async (apiVersion: string, kind: string, name: string | undefined, namespace?: string) => {
    const resource = (await resources(apiVersion))?.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!resource) return null;
    const group = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
    const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${group}${ns}/${resource.name}${name ? `/${encodeURIComponent(name)}` : ''}`;
  };

  const read = async (apiVersion: string, kind: string, name: string, namespace?: string) => {
    const p = await path(apiVersion, kind, name, namespace);
    if (p === null) throw new ApiRefused(`the cluster does not serve ${apiVersion} ${kind} (its CRD is not installed)`);
    const r = await request('GET', p);
    if (r.status === 404) return undefined;
    if (r.status >= 400) throw new ApiRefused(statusMessage(r));
    return r.body as Obj;
  };

  return { server, request, path, read };
}
