// `console --env NAME [--port 9090]`: the MinIO console on localhost, forwarded to a ready
// server pod through the API server (the client library's port-forward; no kubectl), until
// interrupted. The original documents' `make port_forward_minio_console`.
import { createServer } from 'node:net';
import { fail } from '../errors.ts';
import type { Options } from '../options.ts';
import { APP, CONSOLE_PORT } from '../render/names.ts';
import type { Io } from '../report.ts';
import { k8s, statusMessage, type Api } from './kube.ts';

/** A ready MinIO server pod of the env, or a failure that says why there is none. */
export async function readyServerPod(api: Api, namespace: string, env: string): Promise<string> {
  const selector = encodeURIComponent(`app.kubernetes.io/name=${APP},app.kubernetes.io/instance=${APP}`);
  const r = await api.request(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${selector}`,
  );
  if (r.status >= 400)
    fail(
      `cannot list the MinIO pods in namespace ${namespace}: ${statusMessage(r)}; check the kubeconfig and --context`,
    );
  const pods = (r.body.items ?? []) as {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
  const ready = pods.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  if (!ready)
    fail(
      `no ready MinIO pod in namespace ${namespace} (${pods.length} found); run \`npx zx scaffold.ts verify --env ${env}\` to see why`,
    );
  return ready.metadata.name;
}

export async function consoleForward(
  kc: k8s.KubeConfig,
  api: Api,
  options: Options,
  port: number,
  io: Io,
): Promise<number> {
  const ns = options.settings.namespace;
  const pod = await readyServerPod(api, ns, options.env);
  const forward = new k8s.PortForward(kc);
  const server = createServer((socket) => {
    forward.portForward(ns, pod, [CONSOLE_PORT], socket, null, socket).catch((error) => {
      io.err(`error: port-forward to ${ns}/${pod}: ${(error as Error).message.split('\n')[0]}\n`);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is in use; choose another with --port`) : error),
    );
    server.listen(port, '127.0.0.1', resolve);
  }).catch((error: Error) => fail(error.message));
  const scheme = options.settings.tls ? 'https' : 'http';
  io.out(
    `MinIO console of env ${options.env}: ${scheme}://127.0.0.1:${port} (forwarded to ${ns}/${pod}:${CONSOLE_PORT}); Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
