// The diff as a reviewer reads it: text for a terminal, markdown for a pull-request
// comment (a summary table, the highlights, one collapsible section per object), JSON for
// tools. Pure and stable: the same builds give the same bytes. Only redacted objects and
// field values reach here; secret values are statuses.
import { structuredPatch } from 'diff';
import { toYaml, type Yamlable } from '../yaml.ts';
import type { Comparison, FieldChange, ObjectChange } from './compare.ts';
import type { Highlight } from './highlights.ts';

export interface DiffReport {
  env: string;
  /** What was compared: the base (a ref and its commit) and the head (the working tree). */
  base: { ref: string; commit: string | null };
  /** The directories built on both sides (overlays/<env>, clusters/<env>). */
  sources: string[];
  comparison: Comparison;
  highlights: Highlight[];
  /** Facts about the comparison itself (e.g. the env did not exist at the base). */
  notes: string[];
}

export type Format = 'text' | 'markdown' | 'json';
export const FORMATS: Format[] = ['text', 'markdown', 'json'];

/** A GitHub comment holds 65,536 characters; the workflow gives each env its share (--max-chars). */
const MARKDOWN_BUDGET = 40_000;

const short = (commit: string | null) => (commit ? commit.slice(0, 12) : 'nothing');

function counts(c: Comparison) {
  const n = (k: ObjectChange['change']) => c.changes.filter((x) => x.change === k).length;
  return { changed: n('changed'), added: n('added'), removed: n('removed'), unchanged: c.unchanged };
}

function headline(r: DiffReport): string {
  const k = counts(r.comparison);
  const what =
    r.comparison.changes.length === 0
      ? `no change in the built objects (${k.unchanged} objects)`
      : `${k.changed} changed, ${k.added} added, ${k.removed} removed, ${k.unchanged} unchanged`;
  return `env ${r.env}: ${what}; ${r.sources.join(' and ')} built at ${r.base.commit?.startsWith(r.base.ref) ? short(r.base.commit) : `${r.base.ref} (${short(r.base.commit)})`} and in the working tree`;
}

const isMultiline = (v: unknown) => typeof v === 'string' && v.includes('\n');
function show(v: unknown): string {
  if (v === undefined) return '(none)';
  return JSON.stringify(v);
}

/** A field's change as lines: `path: old → new`, or a line diff of a multi-line string. */
function fieldLines(f: FieldChange): string[] {
  if (isMultiline(f.old) || isMultiline(f.new)) {
    const patch = structuredPatch(
      '',
      '',
      typeof f.old === 'string' ? f.old : '',
      typeof f.new === 'string' ? f.new : '',
      '',
      '',
      { context: 2 },
    );
    const head = `${f.path}:${f.old === undefined ? ' (new)' : f.new === undefined ? ' (gone)' : ''}`;
    return [
      head,
      ...patch.hunks.flatMap((h) => [
        `  @@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`,
        ...h.lines.map((l) => `  ${l}`),
      ]),
    ];
  }
  return [`${f.path}: ${show(f.old)} → ${show(f.new)}`];
}

function secretLine(c: ObjectChange): string | undefined {
  const entries = Object.entries(c.secrets);
  if (entries.length === 0) return undefined;
  const how = c.recipients ? 'sealed, compared by ciphertext' : 'compared by hash';
  return `secret values (${how}; never shown): ${entries.map(([k, s]) => `${k} ${s}`).join(', ')}`;
}

function recipientLine(c: ObjectChange): string | undefined {
  if (!c.recipients || c.change !== 'changed' || c.recipients.added.length + c.recipients.removed.length === 0)
    return undefined;
  return `sealed for: ${[...c.recipients.added.map((r) => `+${r}`), ...c.recipients.removed.map((r) => `-${r}`)].join(' ')}`;
}

/** What a reviewer sees of one object, as plain lines. */
function bodyLines(c: ObjectChange): string[] {
  const lines: string[] = [];
  const secrets = secretLine(c);
  const recipients = recipientLine(c);
  if (secrets) lines.push(secrets);
  if (recipients) lines.push(recipients);
  if (c.change === 'changed') lines.push(...c.fields.flatMap(fieldLines));
  else
    lines.push(
      ...toYaml(c.shown as unknown as Yamlable)
        .trimEnd()
        .split('\n'),
    );
  return lines;
}

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

/**
 * Control characters in what a repository supplies (names, values) shown as escapes, so
 * that a terminal prints them rather than obeys them (an escape sequence could erase the
 * highlights); line breaks and tabs stay.
 */
const inert = (text: string) =>
  text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

export function formatText(r: DiffReport): string {
  const out = [headline(r)];
  for (const note of r.notes) out.push(`note: ${note}`);
  if (r.highlights.length > 0) {
    out.push('', 'look at these first:');
    for (const h of r.highlights) out.push(`  ! ${h.object}: ${h.message}`);
  }
  for (const c of r.comparison.changes) {
    out.push('', `${SIGN[c.change]} ${c.change} ${c.label}${c.change === 'changed' ? ` (${c.apiVersion})` : ''}`);
    out.push(...bodyLines(c).map((l) => `    ${l}`));
  }
  return inert(`${out.join('\n')}\n`);
}

/** Text a pull request supplies, made inert in markdown and HTML (and in a table cell). */
const html = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '&#124;');
const code = (s: string) => `<code>${html(s)}</code>`;
/** A fence longer than any run of backticks in the text, so the text cannot end it. */
function fenced(lang: string, text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

function diffBlock(c: ObjectChange): string {
  if (c.change !== 'changed')
    return fenced(
      'yaml',
      bodyLines(c)
        .map((l, i) => (i < (secretLine(c) ? 1 : 0) ? `# ${l}` : l))
        .join('\n'),
    );
  const lines: string[] = [];
  const secrets = secretLine(c);
  const recipients = recipientLine(c);
  if (secrets) lines.push(`# ${secrets}`);
  if (recipients) lines.push(`# ${recipients}`);
  for (const f of c.fields) {
    if (isMultiline(f.old) || isMultiline(f.new))
      lines.push(...fieldLines(f).map((l, i) => (i === 0 ? `  ${l}` : l.slice(2))));
    else
      lines.push(
        `  ${f.path}`,
        ...(f.old === undefined ? [] : [`- ${show(f.old)}`]),
        ...(f.new === undefined ? [] : [`+ ${show(f.new)}`]),
      );
  }
  return fenced('diff', lines.join('\n'));
}

function what(c: ObjectChange): string {
  const keys = Object.values(c.secrets).filter((s) => s !== 'unchanged').length;
  const parts =
    c.change === 'changed' && c.fields.length > 0
      ? [`${c.fields.length} field${c.fields.length === 1 ? '' : 's'}`]
      : [];
  if (keys > 0 && c.change === 'changed') parts.push(`${keys} secret value${keys === 1 ? '' : 's'}`);
  if (c.change !== 'changed') parts.push(c.apiVersion);
  return parts.join(', ');
}

export const MARKER = (env: string) => `<!-- minio-gitops diff env=${env} -->`;

export function formatMarkdown(r: DiffReport, budget = MARKDOWN_BUDGET): string {
  const k = counts(r.comparison);
  const out = [
    MARKER(r.env),
    `### env \`${r.env}\`: ${r.comparison.changes.length === 0 ? 'no change in the built objects' : `${k.changed} changed, ${k.added} added, ${k.removed} removed`}`,
    '',
  ];
  out.push(
    `Built from ${r.sources.map((s) => `\`${s}\``).join(' and ')} at \`${short(r.base.commit)}\`${r.base.commit?.startsWith(r.base.ref) ? '' : ` (${html(r.base.ref)})`} and in this branch, as the GitOps engine builds them; ${k.unchanged} objects unchanged. Secret values are never shown.`,
  );
  for (const note of r.notes) out.push('', `> ${html(note)}`);
  if (r.highlights.length > 0) {
    out.push('', '**Look at these first**', '');
    for (const h of r.highlights) out.push(`- :warning: ${code(h.object)}: ${html(h.message)}`);
  }
  if (r.comparison.changes.length === 0) return `${out.join('\n')}\n`;
  const run = `run \`npx zx scaffold.ts diff --env ${r.env}\` to see them`;
  // The headline and highlights always; the table's rows and the details while they fit.
  const reserve = 400;
  let used = out.join('\n').length + reserve;
  out.push('', '| | object | what |', '| --- | --- | --- |');
  let rows = 0;
  for (const c of r.comparison.changes) {
    const row = `| ${c.change} | ${code(c.label)} | ${html(what(c))} |`;
    if (used + row.length + 1 > budget) break;
    used += row.length + 1;
    out.push(row);
    rows++;
  }
  if (rows < r.comparison.changes.length)
    out.push(
      '',
      `${r.comparison.changes.length - rows} more object${r.comparison.changes.length - rows === 1 ? '' : 's'} left out of the table to keep the comment within its size: ${run}.`,
    );
  out.push('');
  let left = 0;
  for (const c of r.comparison.changes) {
    const section = [
      '<details>',
      `<summary>${c.change} ${code(c.label)}</summary>`,
      '',
      diffBlock(c),
      '',
      '</details>',
    ].join('\n');
    if (used + section.length + 1 > budget) {
      left++;
      continue;
    }
    used += section.length + 1;
    out.push(section);
  }
  if (left > 0)
    out.push(
      '',
      `The details of ${left} object${left === 1 ? '' : 's'} are left out to keep the comment within its size: ${run}.`,
    );
  return `${out.join('\n')}\n`;
}

export function formatJson(r: DiffReport): string {
  const report = {
    env: r.env,
    base: r.base,
    head: 'working tree',
    sources: r.sources,
    counts: counts(r.comparison),
    notes: r.notes,
    highlights: r.highlights,
    objects: r.comparison.changes.map((c) => ({
      change: c.change,
      apiVersion: c.apiVersion,
      kind: c.kind,
      ...(c.namespace ? { namespace: c.namespace } : {}),
      name: c.name,
      ...(c.change === 'changed' ? { fields: c.fields } : { object: c.shown }),
      ...(Object.keys(c.secrets).length > 0 ? { secrets: c.secrets } : {}),
      ...(c.recipients ? { recipients: c.recipients } : {}),
    })),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}

export function formatReport(r: DiffReport, format: Format, maxChars?: number): string {
  return format === 'json' ? formatJson(r) : format === 'markdown' ? formatMarkdown(r, maxChars) : formatText(r);
}
