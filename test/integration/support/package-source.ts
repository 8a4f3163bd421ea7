/**
 * Package Source as its handler runs it: the deploy input parsed (`InvalidInput` on a mismatch),
 * then the step on the deployed dependencies (`SOURCE_BUCKET`, the configuration of `CONFIG_ENV`),
 * with the test's clients and work folder where it passes them.
 */
import { deployInputSchema } from '#events/deploy.ts';
import { parseInput } from '#shared/errors.ts';
import { packageDeploySource, type SourceDeps, sourceDeps } from '#shared/source/steps.ts';

export interface TestSourceDeps {
  readonly clients?: Partial<SourceDeps['clients']>;
  readonly workDir?: string;
}

export async function packageSourceTask(event: unknown, deps: TestSourceDeps = {}) {
  const input = parseInput(deployInputSchema, event, 'deploy input');
  const deployed = sourceDeps();
  return packageDeploySource(input, {
    ...deployed,
    clients: { ...deployed.clients, ...deps.clients },
    workDir: deps.workDir ?? deployed.workDir,
  });
}
