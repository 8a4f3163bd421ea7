/**
 * An EventBridge event pattern matcher: the sandbox bus decides which rule an event
 * triggers with the same patterns the CDK stack deploys.
 *
 * Supported, as EventBridge documents them: exact values (strings, numbers, booleans,
 * null), arrays of alternatives, nested objects, arrays in the event (any element may
 * match), and the content filters `prefix`, `suffix`, `anything-but` (values, or a
 * `prefix`/`suffix`), `numeric` (ranges), `exists`, `equals-ignore-case` and `wildcard`.
 */

// biome-ignore lint/suspicious/noExplicitAny: patterns and events are untyped JSON.
type Json = any;

/** An EventBridge event pattern: field names to arrays of matchers, or nested patterns. */
export type EventPattern = Readonly<Record<string, Json>>;

/** True when `event` matches `pattern` as EventBridge would decide. */
export function matchesPattern(pattern: EventPattern, event: Json): boolean {
  return matchObject(pattern, event);
}

function matchObject(pattern: Json, value: Json): boolean {
  for (const [key, sub] of Object.entries(pattern as Record<string, Json>)) {
    const present = value !== null && typeof value === 'object' && !Array.isArray(value) && key in value;
    const fieldValue = present ? value[key] : undefined;
    if (Array.isArray(sub)) {
      if (!matchField(sub, present, fieldValue)) return false;
    } else if (sub !== null && typeof sub === 'object') {
      if (!present) return false;
      const candidates = Array.isArray(fieldValue) ? fieldValue : [fieldValue];
      if (!candidates.some((candidate) => matchObject(sub, candidate))) return false;
    } else {
      throw new Error(`invalid event pattern: the value of "${key}" must be an array or an object`);
    }
  }
  return true;
}

/** A leaf: the field matches when any matcher of the array matches (one of the event's values). */
function matchField(matchers: Json[], present: boolean, fieldValue: Json): boolean {
  const values: Json[] = present ? (Array.isArray(fieldValue) ? fieldValue : [fieldValue]) : [];
  return matchers.some((matcher) => {
    if (matcher !== null && typeof matcher === 'object' && 'exists' in matcher) {
      // `exists: true` needs a leaf value; `exists: false` needs the field to be absent.
      return matcher.exists ? present && !isObject(fieldValue) : !present;
    }
    if (!present) return false;
    if (matcher !== null && typeof matcher === 'object' && 'anything-but' in matcher) {
      // anything-but holds only when no value of the field is excluded.
      return values.length > 0 && values.every((v) => !excluded(matcher['anything-but'], v));
    }
    return values.some((v) => matchValue(matcher, v));
  });
}

function isObject(value: Json): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function matchValue(matcher: Json, value: Json): boolean {
  if (matcher === null || typeof matcher !== 'object') return matcher === value;
  if ('prefix' in matcher) return typeof value === 'string' && matchPrefix(matcher.prefix, value);
  if ('suffix' in matcher) return typeof value === 'string' && matchSuffix(matcher.suffix, value);
  if ('equals-ignore-case' in matcher)
    return (
      typeof value === 'string' && value.toLowerCase() === String(matcher['equals-ignore-case']).toLowerCase()
    );
  if ('wildcard' in matcher) return typeof value === 'string' && wildcard(matcher.wildcard).test(value);
  if ('numeric' in matcher) return typeof value === 'number' && matchNumeric(matcher.numeric, value);
  throw new Error(`unsupported event pattern matcher ${JSON.stringify(matcher)}`);
}

function matchPrefix(prefix: Json, value: string): boolean {
  if (typeof prefix === 'string') return value.startsWith(prefix);
  return value.toLowerCase().startsWith(String(prefix['equals-ignore-case']).toLowerCase());
}

function matchSuffix(suffix: Json, value: string): boolean {
  if (typeof suffix === 'string') return value.endsWith(suffix);
  return value.toLowerCase().endsWith(String(suffix['equals-ignore-case']).toLowerCase());
}

function excluded(spec: Json, value: Json): boolean {
  if (Array.isArray(spec)) return spec.includes(value);
  if (spec !== null && typeof spec === 'object') return matchValue(spec, value);
  return spec === value;
}

function matchNumeric(spec: Json[], value: number): boolean {
  for (let i = 0; i + 1 < spec.length; i += 2) {
    const op = spec[i] as string;
    const bound = Number(spec[i + 1]);
    const ok =
      op === '<'
        ? value < bound
        : op === '<='
          ? value <= bound
          : op === '>'
            ? value > bound
            : op === '>='
              ? value >= bound
              : op === '='
                ? value === bound
                : undefined;
    if (ok === undefined) throw new Error(`unsupported numeric operator "${op}" in an event pattern`);
    if (!ok) return false;
  }
  return true;
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`, 's');
}
