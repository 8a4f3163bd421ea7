/**
 * `stackpilot schema [--write FILE]`: the JSON Schema of `stackpilot.yml`, generated from the
 * zod schema that validates it (`shared/config.ts`), so that editors complete and check the
 * file. `stackpilot.schema.json` at the root is its committed copy (`npm run schema` writes
 * it; a test fails when it no longer matches the zod schema).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { configSchema } from '#shared/config.ts';
import { type CliIo, EXIT, parse, UsageError } from './common.ts';

export const SCHEMA_USAGE = `usage: stackpilot schema [--write FILE]
  prints the JSON Schema of stackpilot.yml (for editors: the YAML language server reads
  "# yaml-language-server: $schema=./stackpilot.schema.json" at the top of the file);
  --write FILE writes it there instead (npm run schema updates stackpilot.schema.json)`;

/** The committed copy, at the project root. */
export const SCHEMA_FILE = 'stackpilot.schema.json';

/**
 * The schema of what a user writes (zod's input side: fields with defaults are optional).
 * Draft 7, the draft every YAML and JSON editor reads. Refinements that JSON Schema cannot
 * express (colliding resource names, the size of a stage's environment) stay with zod: the
 * configuration is still checked in full at synth time and at cold start.
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'stackpilot.yml',
    description:
      'The apps stackpilot deploys and scales, and their stages. Generated from shared/config.ts by `stackpilot schema`.',
    ...rest,
  };
}

/** The schema as the committed file holds it (two-space JSON, final newline). */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

export function schemaCommand(argv: string[], io: CliIo): number {
  const { values, positionals } = parse(argv, {
    write: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const);
  if (values.help) {
    io.stdout.write(`${SCHEMA_USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new UsageError(
      `unexpected argument ${positionals[0]}; to write the schema to a file use --write ${positionals[0]}`,
    );
  const text = configJsonSchemaText();
  if (values.write === undefined) {
    io.stdout.write(text);
    return EXIT.ok;
  }
  // Compared as JSON: the committed copy is formatted by the project's formatter, not by JSON.stringify.
  let current: unknown;
  try {
    current = JSON.parse(readFileSync(values.write, 'utf8'));
  } catch {
    current = undefined;
  }
  if (isDeepStrictEqual(current, JSON.parse(text))) {
    io.stderr.write(`${values.write} is up to date\n`);
    return EXIT.ok;
  }
  writeFileSync(values.write, text);
  io.stderr.write(`wrote ${values.write}\n`);
  return EXIT.ok;
}
