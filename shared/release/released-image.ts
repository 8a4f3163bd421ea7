/**
 * The stage's released-image parameter in SSM Parameter Store
 * (`stageNames(app, stage).releasedImageParameter`): the release writes it, the stage stack
 * resolves it at every `cdk deploy` (see `shared/release/placeholder.ts`).
 */
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { stageNames } from '../naming.ts';
import { releasedImageValue } from './placeholder.ts';

/**
 * Records `image` as what the stage runs now. Overwrites (the parameter exists from
 * `cdk deploy`); writing the same value twice is harmless, so a retried step is safe.
 */
export async function recordReleasedImage(
  app: string,
  stage: string,
  image: string,
  ssm: SSMClient,
): Promise<{ name: string; value: string }> {
  const name = stageNames(app, stage).releasedImageParameter;
  const value = releasedImageValue(image);
  await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
  return { name, value };
}
