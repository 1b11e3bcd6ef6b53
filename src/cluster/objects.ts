// A Kubernetes object as the build gives it (plain JSON), and how messages name one. Kept
// apart from kube.ts so that what only builds (diff) does not load the Kubernetes client.
import type { SopsMetadata } from '../sops.ts';

/** A Kubernetes object as plain JSON. */
export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
  };
  // biome-ignore lint/suspicious/noExplicitAny: a build's JSON, of any kind, read field by field
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as spec
  status?: any;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  stringData?: Record<string, string>;
  sops?: SopsMetadata;
};

export const id = (o: Obj) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
