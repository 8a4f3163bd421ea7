import { type CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
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
