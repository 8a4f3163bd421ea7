/**
 * Reading `stackpilot.yml` from disk: the CDK app, the CLI, the sandbox and tests.
 * Functions never read the file; they get the validated configuration as JSON
 * (`runtimeConfig()` in `config.ts`).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig, type StackpilotConfig } from './config.ts';

/** Default location of the configuration file, relative to the working directory. */
export const DEFAULT_CONFIG_PATH = 'stackpilot.yml';

/** Parses YAML text (JSON is YAML too) and validates it. */
export function parseConfigText(text: string, source = 'configuration'): StackpilotConfig {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  return parseConfig(document, source);
}

/** Reads the configuration file: the given path, else `STACKPILOT_CONFIG`, else `stackpilot.yml`. */
export function loadConfigFile(
  path = process.env.STACKPILOT_CONFIG ?? DEFAULT_CONFIG_PATH,
): StackpilotConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read stackpilot configuration ${path}: ${(error as Error).message}`);
  }
  return parseConfigText(text, path);
}
