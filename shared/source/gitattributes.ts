/**
 * The attributes git gives a path at checkout, read from the commit's own `.gitattributes`
 * files (the only source a fresh clone has: no `info/attributes`, no global file). Follows
 * git's `attr.c`: patterns match like `.gitignore` patterns (a pattern without `/` matches the
 * basename at any depth, one with `/` the path relative to its file's folder, `**` spans
 * folders), negative patterns are ignored, a deeper file overrides a shallower one, a later
 * line an earlier one, and `[attr]` macros (plus the built-in `binary`) expand in place.
 * Paths and patterns are compared as bytes (latin1 strings), as git compares them.
 */

/** An attribute's state: set (`true`), unset (`false`), or a value. Absent: unspecified. */
export type AttributeValue = true | false | string;

interface Assignment {
  readonly name: string;
  /** `undefined`: back to unspecified (`!name`). */
  readonly value: AttributeValue | undefined;
}

interface Rule {
  readonly match: (path: string, basename: string) => boolean;
  readonly assignments: readonly Assignment[];
}

/** The rules of one `.gitattributes` file, relative to its folder. */
export interface AttributesFile {
  /** The folder holding the file, `''` for the top, else ending in `/` (latin1 bytes). */
  readonly base: string;
  readonly rules: readonly Rule[];
}

/** Macros: the built-in `binary` plus those defined in the top-level file. */
export type Macros = ReadonlyMap<string, readonly Assignment[]>;

export const BUILT_IN_MACROS: Macros = new Map([
  [
    'binary',
    [
      { name: 'diff', value: false },
      { name: 'merge', value: false },
      { name: 'text', value: false },
    ],
  ],
]);

/** Unquotes a C-style quoted pattern (`"a\tb"`), as git does for patterns starting with `"`. */
function unquote(text: string): { value: string; rest: string } | undefined {
  let out = '';
  let i = 1;
  const escapes: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') return { value: out, rest: text.slice(i + 1) };
    if (c === '\\') {
      const next = text[i + 1] ?? '';
      if (/[0-3]/.test(next) && /^[0-7]{3}$/.test(text.slice(i + 1, i + 4))) {
        out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 4), 8));
        i += 4;
        continue;
      }
      out += escapes[next] ?? next;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  return undefined;
}

function parseAssignments(words: readonly string[], macros: Macros): Assignment[] {
  const out: Assignment[] = [];
  for (const word of words) {
    let assignment: Assignment;
    if (word.startsWith('-')) assignment = { name: word.slice(1), value: false };
    else if (word.startsWith('!')) assignment = { name: word.slice(1), value: undefined };
    else {
      const eq = word.indexOf('=');
      assignment =
        eq < 0 ? { name: word, value: true } : { name: word.slice(0, eq), value: word.slice(eq + 1) };
    }
    out.push(assignment);
    // A set macro expands to its attributes after itself (git: `fill_one`).
    const expansion = assignment.value === true ? macros.get(assignment.name) : undefined;
    if (expansion) out.push(...expansion);
  }
  return out;
}

/** `[` class `]` of a wildmatch pattern starting at `i` (after the `[`): regex source and the index after `]`. */
function charClass(
  pattern: string,
  start: number,
  pathname: boolean,
): { source: string; end: number } | undefined {
  let i = start;
  let negate = false;
  if (pattern[i] === '!' || pattern[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  let first = true;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === ']' && !first) {
      // With WM_PATHNAME a class never matches `/`.
      return { source: `[${negate ? '^' : ''}${body}${negate && pathname ? '/' : ''}]`, end: i + 1 };
    }
    first = false;
    if (c === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close < 0) return undefined;
      const name = pattern.slice(i + 2, close);
      const classes: Record<string, string> = {
        alnum: 'a-zA-Z0-9',
        alpha: 'a-zA-Z',
        blank: ' \\t',
        cntrl: '\\x00-\\x1f\\x7f',
        digit: '0-9',
        graph: '\\x21-\\x7e',
        lower: 'a-z',
        print: '\\x20-\\x7e',
        punct: '!-\\/:-@\\[-`{-~',
        space: ' \\t\\n\\r\\f\\v',
        upper: 'A-Z',
        xdigit: '0-9a-fA-F',
      };
      const range = classes[name];
      if (range === undefined) return undefined;
      body += range;
      i = close + 2;
      continue;
    }
    let literal = c;
    if (c === '\\' && i + 1 < pattern.length) {
      literal = pattern[i + 1] as string;
      i++;
    }
    body += literal === '-' && pattern[i + 1] !== ']' && body !== '' ? '-' : escapeRegex(literal);
    i++;
  }
  return undefined;
}

function escapeRegex(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/**
 * Compiles a wildmatch pattern to a regular expression. With `pathname`, `*` and `?` stop at
 * `/` and `**` between slashes spans folders (git's WM_PATHNAME); without, they match anything.
 */
export function wildmatchRegex(pattern: string, pathname: boolean): RegExp {
  let source = '';
  let i = 0;
  const any = pathname ? '[^/]' : '[\\s\\S]';
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*' && pathname) {
        const atStart = i === 0 || pattern[i - 1] === '/';
        let j = i;
        while (pattern[j] === '*') j++;
        const atEnd = j === pattern.length || pattern[j] === '/';
        if (atStart && atEnd) {
          if (j === pattern.length) source += '[\\s\\S]*';
          else {
            // `**/` matches zero or more folders.
            source += '(?:[\\s\\S]*/)?';
            j++;
          }
          i = j;
          continue;
        }
        source += `${any}*`;
        i = j;
        continue;
      }
      source += `${any}*`;
      while (pattern[i] === '*') i++;
      continue;
    }
    if (c === '?') source += any;
    else if (c === '[') {
      const cls = charClass(pattern, i + 1, pathname);
      if (cls) {
        source += pathname ? `(?!/)${cls.source}` : cls.source;
        i = cls.end;
        continue;
      }
      source += '\\[';
    } else if (c === '\\' && i + 1 < pattern.length) {
      source += escapeRegex(pattern[i + 1] as string);
      i += 2;
      continue;
    } else source += escapeRegex(c);
    i++;
  }
  return new RegExp(`^${source}$`);
}

/** A matcher for one pattern of a `.gitattributes` in folder `base`. */
function compilePattern(raw: string, base: string): Rule['match'] | undefined {
  let pattern = raw;
  // A pattern for folders only never matches a file (attributes are looked up for files).
  if (pattern.endsWith('/')) return () => false;
  const anchored = pattern.startsWith('/');
  if (anchored) pattern = pattern.slice(1);
  if (!anchored && !pattern.includes('/')) {
    const regex = wildmatchRegex(pattern, false);
    return (path, basename) => path.startsWith(base) && regex.test(basename);
  }
  const regex = wildmatchRegex(pattern, true);
  return (path) => path.startsWith(base) && regex.test(path.slice(base.length));
}

/**
 * Parses a `.gitattributes` file (its raw bytes) in folder `base` (latin1, `''` or ending in
 * `/`). Macro definitions count only in the top-level file (`base` `''`): they are added to
 * `macros` there, and ignored elsewhere, as git does.
 */
export function parseAttributes(
  content: Buffer,
  base: string,
  macros: Map<string, readonly Assignment[]>,
): AttributesFile {
  const rules: Rule[] = [];
  for (const rawLine of content.toString('latin1').split('\n')) {
    const line = rawLine.replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    let pattern: string;
    let rest: string;
    if (line.startsWith('"')) {
      const quoted = unquote(line);
      if (!quoted) continue;
      pattern = quoted.value;
      rest = quoted.rest;
    } else {
      const end = line.search(/[ \t\r\n]/);
      pattern = end < 0 ? line : line.slice(0, end);
      rest = end < 0 ? '' : line.slice(end);
    }
    const words = rest.split(/[ \t\r\n]+/).filter(Boolean);
    if (pattern.startsWith('[attr]')) {
      if (base === '') macros.set(pattern.slice('[attr]'.length), parseAssignments(words, macros));
      continue;
    }
    // Negative patterns are forbidden in attributes files; git warns and skips them.
    if (pattern.startsWith('!')) continue;
    const match = compilePattern(pattern, base);
    if (match) rules.push({ match, assignments: parseAssignments(words, macros) });
  }
  return { base, rules };
}

/**
 * The attributes of `path` (latin1 bytes, relative to the top) given the attribute files
 * that apply to it, shallowest first. Later (deeper) rules override earlier ones.
 */
export function attributesOf(path: string, files: readonly AttributesFile[]): Map<string, AttributeValue> {
  const basename = path.slice(path.lastIndexOf('/') + 1);
  const state = new Map<string, AttributeValue>();
  for (const file of files) {
    for (const rule of file.rules) {
      if (!rule.match(path, basename)) continue;
      for (const { name, value } of rule.assignments) {
        if (value === undefined) state.delete(name);
        else state.set(name, value);
      }
    }
  }
  return state;
}
