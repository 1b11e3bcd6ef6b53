/**
 * An error the user can fix: printed as one line ("error: ...") and exit code 2.
 * Every message names the problem and the fix. Anything else that is thrown is a bug
 * and is printed with its stack.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function fail(message: string): never {
  throw new UsageError(message);
}

/** A value as an error message quotes it: strings quoted, lists and maps as JSON and named. */
export function show(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (Array.isArray(raw)) return `${JSON.stringify(raw)} (a list)`;
  if (raw !== null && typeof raw === 'object') return `${JSON.stringify(raw)} (a map)`;
  return String(raw);
}

/** Text (a git message) without the credentials a URL in it may carry: `https://***@host/...`. */
export function redactCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}
