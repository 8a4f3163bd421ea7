import { ArnFormat, type Stack } from 'aws-cdk-lib';

/**
 * The ARNs under which a secret named in `stackpilot.yml` can be read. A name matches the
 * secret's full ARN only with the 6-character suffix Secrets Manager appends; an ARN may be
 * complete or partial (without the suffix), so both forms are allowed.
 */
export function secretArns(stack: Stack, nameOrArn: string): string[] {
  if (nameOrArn.startsWith('arn:')) return [nameOrArn, `${nameOrArn}-??????`];
  return [
    stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${nameOrArn}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  ];
}
