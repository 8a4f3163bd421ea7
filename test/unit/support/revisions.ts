/**
 * The emulator tests' preview revision: the stage's running revision registered again under
 * another family, as the preview state machine registers it (minus the image swap, which these
 * tests do not need).
 */
import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { READ_ONLY_FIELDS } from '#shared/release/task-definition.ts';

/** Registers the latest revision of `stageFamily` again as `family`; returns the new revision's ARN. */
export async function registerAs(ecs: ECSClient, stageFamily: string, family: string): Promise<string> {
  const { taskDefinition } = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: stageFamily }),
  );
  const copy: Record<string, unknown> = { ...taskDefinition };
  for (const field of READ_ONLY_FIELDS) delete copy[field];
  const out = await ecs.send(
    new RegisterTaskDefinitionCommand({ ...(copy as unknown as RegisterTaskDefinitionCommandInput), family }),
  );
  return out.taskDefinition?.taskDefinitionArn ?? '';
}
