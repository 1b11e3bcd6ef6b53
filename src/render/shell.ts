// The commands the tool prints (an env's README, a run's next steps and warnings) are
// meant to be pasted into a shell: every value put into one (a path, a branch, a key file)
// goes in as exactly one word, whatever characters it holds.

/** Characters that stand for themselves in a POSIX shell word. */
const PLAIN = /^[A-Za-z0-9_./:=@%+,-]+$/;

/**
 * A value as one POSIX shell word: as it is when it holds only [A-Za-z0-9_./:=@%+,-], else in
 * single quotes, where nothing is special but the quote itself (written '\'' ).
 */
export function shellQuote(value: string): string {
  if (PLAIN.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
