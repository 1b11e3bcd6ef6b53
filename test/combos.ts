// The option combinations every overlay test covers: profile x storage x secrets x tls x
// replicas x (ingress and monitoring), which of them must be refused, and their flags.
export const DIMENSIONS = {
  profile: ['dev', 'prod'],
  storage: ['hostpath', 'pvc'],
  secrets: ['plain', 'sops', 'external'],
  tls: ['on', 'off'],
  replicas: ['1', '4'],
  extras: ['on', 'off'], // --ingress and --monitoring together
} as const;
export type Combo = { [K in keyof typeof DIMENSIONS]: (typeof DIMENSIONS)[K][number] };

export function allCombos(): Combo[] {
  let combos: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(DIMENSIONS))
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return combos as Combo[];
}

export function argv(c: Combo): string[] {
  return [
    '--env',
    c.profile,
    '--storage',
    c.storage,
    '--secrets',
    c.secrets,
    '--tls',
    c.tls,
    '--replicas',
    c.replicas,
    '--ingress',
    c.extras,
    '--monitoring',
    c.extras,
  ];
}

/** Why a combination must be refused, or null when it must build. */
export function refusal(c: Combo): RegExp | null {
  if (c.storage === 'hostpath' && c.replicas !== '1') return /hostpath storage works only with 1 replica/;
  if (c.secrets === 'plain' && c.profile === 'prod') return /--secrets plain would commit credentials in plaintext/;
  return null;
}

export const validCombos = (): Combo[] => allCombos().filter((c) => !refusal(c));
