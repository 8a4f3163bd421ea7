/**
 * Runs a production function's logic in this process with the environment its template gives
 * the Lambda function (config file, bucket names, ARNs), as AWS would run it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FILE_ENV, CONFIG_FILE_NAME } from '../../../shared/config.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';

let taskRoot: string | undefined;

/**
 * The function's code folder as Lambda has it (`LAMBDA_TASK_ROOT`): the bundling hook puts
 * the validated `stackpilot.yml` there as `stackpilot-config.json`, which the function reads.
 */
function lambdaTaskRoot(): string {
  if (!taskRoot) {
    taskRoot = mkdtempSync(join(tmpdir(), 'stackpilot-aws-task-'));
    writeFileSync(join(taskRoot, CONFIG_FILE_NAME), JSON.stringify(loadConfigFile('stackpilot.yml')));
  }
  return taskRoot;
}

export async function withEnvironment<T>(
  templateVariables: Readonly<Record<string, string>>,
  run: () => Promise<T>,
): Promise<T> {
  const variables: Record<string, string> = { ...templateVariables };
  if (variables[CONFIG_FILE_ENV]) variables.LAMBDA_TASK_ROOT = lambdaTaskRoot();
  const before = Object.fromEntries(Object.keys(variables).map((k) => [k, process.env[k]]));
  Object.assign(process.env, variables);
  try {
    return await run();
  } finally {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
