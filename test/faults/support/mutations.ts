/**
 * Field-by-field mutations of a JSON document: for every field (nested objects and array
 * items included), the document with that one field deleted, of the wrong type, an empty
 * string, null, a huge string, or unicode text. Deterministic: the same document always
 * gives the same mutations, in the same order.
 */

export type MutationKind = 'delete' | 'wrong type' | 'empty string' | 'null' | 'huge string' | 'unicode';

export interface Mutation {
  /** `detail.state.value`, `resources.0` */
  readonly path: string;
  readonly kind: MutationKind;
  readonly document: unknown;
}

export const MUTATION_KINDS: readonly MutationKind[] = [
  'delete',
  'wrong type',
  'empty string',
  'null',
  'huge string',
  'unicode',
];

/** 64 KiB: far past any name AWS accepts, well within Step Functions' 256 KiB payload. */
export const HUGE = 'x'.repeat(64 * 1024);
/** Accents, a right-to-left override, CJK, an astral emoji, a combining mark, a NUL, a newline. */
export const UNICODE = 'ünïcødé \u202e中文🚀 e\u0301\u0000\n';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every field's path, depth first (a parent before its children). */
export function fieldPaths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  const children: [string | number, Json][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : value !== null && typeof value === 'object'
      ? Object.entries(value)
      : [];
  for (const [key, child] of children) {
    const path = [...prefix, key];
    out.push(path, ...fieldPaths(child, path));
  }
  return out;
}

function wrongType(value: Json): Json {
  if (typeof value === 'string') return 12345;
  if (typeof value === 'number') return 'not a number';
  if (typeof value === 'boolean') return 'true';
  if (Array.isArray(value)) return { not: 'an array' };
  if (value !== null && typeof value === 'object') return ['not', 'an', 'object'];
  return 0;
}

function replaced(document: Json, path: (string | number)[], kind: MutationKind): Json {
  const copy = structuredClone(document) as Json;
  let parent = copy as Record<string | number, Json> | Json[];
  for (const key of path.slice(0, -1))
    parent = (parent as Record<string | number, Json>)[key] as typeof parent;
  const last = path.at(-1) as string | number;
  const container = parent as Record<string | number, Json>;
  const current = container[last] as Json;
  if (kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete container[last];
  } else if (kind === 'wrong type') container[last] = wrongType(current);
  else if (kind === 'empty string') container[last] = '';
  else if (kind === 'null') container[last] = null;
  else if (kind === 'huge string') container[last] = HUGE;
  else container[last] = typeof current === 'string' ? `${current}${UNICODE}` : UNICODE;
  return copy;
}

/** Every mutation of every field of `document`. */
export function mutationsOf(document: unknown, kinds: readonly MutationKind[] = MUTATION_KINDS): Mutation[] {
  const json = document as Json;
  return fieldPaths(json).flatMap((path) =>
    kinds.map((kind) => ({ path: path.join('.'), kind, document: replaced(json, path, kind) })),
  );
}
