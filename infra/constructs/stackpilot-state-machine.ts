import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { type StateMachineKind, stateMachineName } from '#shared/naming.ts';
import { PROJECT_ROOT } from './stackpilot-function.ts';

/** `state-machines/<kind>.asl.json`: the definition of a control-plane state machine. */
export function definitionPath(kind: StateMachineKind): string {
  return join(PROJECT_ROOT, 'state-machines', `${kind}.asl.json`);
}

export interface StackpilotStateMachineProps {
  /** Which state machine: named `stackpilot-<kind>`, defined by `state-machines/<kind>.asl.json`. */
  readonly kind: StateMachineKind;
  readonly comment: string;
  /**
   * The Task functions, by the ASL placeholder of their ARN (`PackageSourceFunctionArn`).
   * The state machine may invoke exactly these functions.
   */
  readonly tasks: Readonly<Record<string, lambda.IFunction>>;
  /** Other placeholders of the ASL file and their values. */
  readonly substitutions?: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A control-plane state machine: STANDARD, loaded from its ASL file with the placeholders
 * filled, every execution event logged (with its data) to its own log group (`<id>Logs`,
 * beside it), traced, and allowed to invoke its Task functions and nothing else.
 *
 * The placeholders given must be exactly those of the ASL file: a missing one would deploy a
 * definition Step Functions rejects, an unused one is a renamed or deleted state; both fail
 * the synth with the placeholder's name.
 *
 * Execution data is logged in full: inputs and outputs of stackpilot's state machines carry
 * names, commits, image URIs, counts and ids, never a secret (secrets are read by ARN).
 */
export class StackpilotStateMachine extends sfn.StateMachine {
  constructor(scope: Construct, id: string, props: StackpilotStateMachineProps) {
    const { kind, tasks } = props;
    const text = readFileSync(definitionPath(kind), 'utf8');
    const substitutions = checkedSubstitutions(kind, text, tasks, props.substitutions ?? {});
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      // The /aws/vendedlogs/ prefix keeps the account's CloudWatch Logs resource policy small.
      logGroupName: `/aws/vendedlogs/states/${stateMachineName(kind)}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      stateMachineName: stateMachineName(kind),
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: props.comment,
      definitionBody: sfn.DefinitionBody.fromString(text),
      definitionSubstitutions: substitutions,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The ASL invokes the functions by their unqualified ARNs: nothing else (no versions, no aliases).
    this.addToRolePolicy(
      new iam.PolicyStatement({
        sid: `Invoke${kind.charAt(0).toUpperCase()}${kind.slice(1)}Tasks`,
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(tasks).map((fn) => fn.functionArn),
      }),
    );
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the policy CDK adds for logging and tracing: logs:*LogDelivery*, logs:DescribeLogGroups/ResourcePolicies and xray:PutTraceSegments/GetSampling* have no resource-level permissions.',
    });
  }
}

/** The tasks of step functions named like their states: `<Step>FunctionArn` -> the step's function. */
export function stepTasks(fns: Readonly<Record<string, lambda.IFunction>>): Record<string, lambda.IFunction> {
  return Object.fromEntries(Object.entries(fns).map(([step, fn]) => [`${step}FunctionArn`, fn]));
}

/**
 * The `definitionSubstitutions`: the tasks' ARNs and the other values, checked against the
 * placeholders of the ASL text (`${Name}`). Throws naming every placeholder left without a
 * value, given twice or not in the file.
 */
function checkedSubstitutions(
  kind: StateMachineKind,
  text: string,
  tasks: Readonly<Record<string, lambda.IFunction>>,
  others: Readonly<Record<string, string>>,
): Record<string, string> {
  const substitutions: Record<string, string> = { ...others };
  const twice = Object.keys(tasks).filter((key) => key in others);
  for (const [key, fn] of Object.entries(tasks)) substitutions[key] = fn.functionArn;
  // The same pattern as the sandbox's placeholdersOf: the infra does not load the local runner.
  const placeholders = new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string));
  const missing = [...placeholders].filter((key) => !(key in substitutions));
  const unused = Object.keys(substitutions).filter((key) => !placeholders.has(key));
  const problem = (what: string, keys: string[]) => (keys.length > 0 ? [`${what}: ${keys.join(', ')}`] : []);
  const problems = [
    ...problem('placeholders without a value', missing),
    ...problem('values without a placeholder', unused),
    ...problem('placeholders given as a task and as a value', twice),
  ];
  if (problems.length > 0) throw new Error(`state-machines/${kind}.asl.json: ${problems.join('; ')}`);
  return substitutions;
}
