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
