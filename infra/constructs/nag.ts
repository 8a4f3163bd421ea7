import { type CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on a construct and everything under it, with one reason.
 * IAM5 findings are per wildcard (`AwsSolutions-IAM5[Resource::*]`,
 * `AwsSolutions-IAM5[Action::s3:GetObject*]`): each must be named, so a new wildcard that
 * nobody reviewed still fails the synth.
 */
export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}

/** How cdk-nag spells a construct's ARN in an IAM5 finding: `<LogicalId.Arn>`. */
export function arnToken(resource: IConstruct): string {
  const element = resource.node.defaultChild as CfnElement;
  return `<${Stack.of(resource).getLogicalId(element)}.Arn>`;
}

/** How cdk-nag spells a construct's `Ref` in an IAM5 finding: `<LogicalId>`. */
export function refToken(resource: IConstruct): string {
  const element = resource.node.defaultChild as CfnElement;
  return `<${Stack.of(resource).getLogicalId(element)}>`;
}

/** `AwsSolutions-IAM5[Resource::…]` */
export const wildcardResource = (resource: string) => `AwsSolutions-IAM5[Resource::${resource}]`;
/** `AwsSolutions-IAM5[Action::…]` */
export const wildcardAction = (action: string) => `AwsSolutions-IAM5[Action::${action}]`;

/**
 * The start of an ARN as cdk-nag prints it for this stack: `arn:<AWS::Partition>:svc:<AWS::Region>:<AWS::AccountId>:`
 * when the stack is environment-agnostic, with literals where the environment is known.
 */
export function arnPrefix(scope: IConstruct, service: string): string {
  const stack = Stack.of(scope);
  const show = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  return `arn:${show(stack.partition, 'Partition')}:${service}:${show(stack.region, 'Region')}:${show(stack.account, 'AccountId')}:`;
}

/**
 * Acknowledges the managed policy of the stack-wide singleton Lambda behind every
 * `AwsCustomResource` of `scope`'s stack (it sits outside the construct that made it).
 */
export function acknowledgeCustomResourceProvider(scope: IConstruct): void {
  const provider = Stack.of(scope).node.tryFindChild(
    `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replaceAll('-', '')}`,
  );
  if (provider) {
    acknowledge(
      provider,
      'AWSLambdaBasicExecutionRole only lets the one-shot custom resource function write its own logs.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    );
  }
}
