/**
 * Fault injection on the project's own SDK clients (`shared/aws/clients.ts`): a middleware
 * at the front of each client's stack (step `initialize`, priority `high`, so before the
 * SDK's retry middleware and before whatever answers the command: the emulated account or
 * a mock) throws the service's own throttling error for a chosen command, once or on
 * every call, and counts what it threw.
 *
 * A fault can be scoped to one Task state: the runner marks the handler's asynchronous
 * context with {@link runInState}, so a throttled `DescribeServices` in "Check Deployment"
 * does not also break "Roll Back", which calls the same command.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ApiGatewayV2ServiceException } from '@aws-sdk/client-apigatewayv2';
import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { CloudWatchServiceException } from '@aws-sdk/client-cloudwatch';
import { CodePipelineServiceException } from '@aws-sdk/client-codepipeline';
import { ECRServiceException } from '@aws-sdk/client-ecr';
import { ECSServiceException } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2ServiceException } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeServiceException } from '@aws-sdk/client-eventbridge';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { ServiceDiscoveryServiceException } from '@aws-sdk/client-servicediscovery';
import { SFNServiceException } from '@aws-sdk/client-sfn';
import { SSMServiceException } from '@aws-sdk/client-ssm';
import type { Clients } from '#shared/aws/clients.ts';

export type ServiceName = keyof Clients;

/** `once`: only the first matching call fails; `always`: every matching call fails. */
export type FaultMode = 'once' | 'always';

export interface FaultPlan {
  /** An SDK client of `shared/aws/clients.ts`, or `lambda`: the Lambda service refusing the Task's Invoke. */
  readonly service: ServiceName | 'lambda';
  /** The SDK command's name without the `Command` suffix, e.g. `UpdateService` (`Invoke` for `lambda`). */
  readonly command: string;
  readonly mode: FaultMode;
  /** Only calls made while this Task state runs fail; every call when omitted. */
  readonly state?: string;
}

/** One AWS call seen by the middleware. */
export interface SeenCall {
  readonly service: ServiceName;
  readonly command: string;
  /** The Task state that made it, when the runner marked one. */
  readonly state: string | undefined;
  /** True when the middleware threw instead of letting it through. */
  readonly injected: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: every ServiceException subclass takes the same option shape.
type ExceptionClass = new (options: any) => Error;

/** Each service's base exception: the SDK builds unmodelled error codes (throttling) on it. */
const EXCEPTIONS: Record<ServiceName, ExceptionClass> = {
  apiGatewayV2: ApiGatewayV2ServiceException,
  autoScaling: AutoScalingServiceException,
  cloudWatch: CloudWatchServiceException,
  codePipeline: CodePipelineServiceException,
  ecr: ECRServiceException,
  ecs: ECSServiceException,
  elbv2: ElasticLoadBalancingV2ServiceException,
  eventBridge: EventBridgeServiceException,
  s3: S3ServiceException,
  secretsManager: SecretsManagerServiceException,
  serviceDiscovery: ServiceDiscoveryServiceException,
  sfn: SFNServiceException,
  ssm: SSMServiceException,
};

/** The throttling error the SDK throws when `service` answers HTTP 400 ThrottlingException (`Rate exceeded`). */
export function throttlingError(service: ServiceName): Error {
  const error = new EXCEPTIONS[service]({
    name: 'ThrottlingException',
    message: 'Rate exceeded',
    $fault: 'client',
    $metadata: { httpStatusCode: 400, requestId: 'injected-fault', attempts: 1, totalRetryDelay: 0 },
  });
  return Object.assign(error, { $retryable: { throttling: true } });
}

const currentState = new AsyncLocalStorage<string>();

/** Runs `fn` marked as Task state `state`: the AWS calls it makes are attributed to that state. */
export function runInState<T>(state: string, fn: () => T): T {
  return currentState.run(state, fn);
}

const MIDDLEWARE_NAME = 'stackpilotFaultInjection';

interface ClientWithStack {
  readonly middlewareStack: {
    add(middleware: unknown, options: Record<string, unknown>): void;
    remove(name: string): boolean;
  };
}

/** The injector: attach once, then arm plans per scenario and read what happened. */
export class FaultInjector {
  private plans: FaultPlan[] = [];
  private firedByPlan: number[] = [];
  /** Every AWS call seen since the last {@link arm} or {@link reset}. */
  calls: SeenCall[] = [];
  /** Errors thrown since the injector was created. */
  totalInjected = 0;
  private attached: ClientWithStack[] = [];

  /** Adds the middleware to every client of the record; attach it before anything that answers commands. */
  attach(clients: Clients): this {
    for (const [service, client] of Object.entries(clients) as [ServiceName, ClientWithStack][]) {
      client.middlewareStack.add(
        // biome-ignore lint/suspicious/noExplicitAny: the handler is generic over every command's types.
        (next: (args: any) => Promise<unknown>, context: { commandName?: string }) =>
          async (args: unknown) => {
            const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
            const state = currentState.getStore();
            const index = this.plans.findIndex(
              (plan, i) =>
                plan.service === service &&
                plan.command === command &&
                (plan.state === undefined || plan.state === state) &&
                (plan.mode === 'always' || this.firedByPlan[i] === 0),
            );
            this.calls.push({ service, command, state, injected: index >= 0 });
            if (index >= 0) {
              this.firedByPlan[index] = (this.firedByPlan[index] ?? 0) + 1;
              this.totalInjected += 1;
              throw throttlingError(service);
            }
            return next(args);
          },
        { step: 'initialize', priority: 'high', name: MIDDLEWARE_NAME, override: true },
      );
      this.attached.push(client);
    }
    return this;
  }

  /**
   * The error the Lambda service answers a throttled Invoke with, when a `lambda` plan
   * matches this Task state; what Step Functions then reports as the Task's error.
   */
  invokeFault(state: string): Error | undefined {
    const index = this.plans.findIndex(
      (plan, i) =>
        plan.service === 'lambda' &&
        (plan.state === undefined || plan.state === state) &&
        (plan.mode === 'always' || this.firedByPlan[i] === 0),
    );
    if (index < 0) return undefined;
    this.firedByPlan[index] = (this.firedByPlan[index] ?? 0) + 1;
    this.totalInjected += 1;
    const error = new Error('Rate Exceeded.');
    error.name = 'Lambda.TooManyRequestsException';
    error.stack = '';
    return error;
  }

  /** Removes the middleware from the clients it was added to. */
  detach(): void {
    for (const client of this.attached) client.middlewareStack.remove(MIDDLEWARE_NAME);
    this.attached = [];
  }

  /** Arms these faults (replacing any others) and forgets the calls seen so far. */
  arm(...plans: FaultPlan[]): void {
    this.plans = plans;
    this.firedByPlan = plans.map(() => 0);
    this.calls = [];
  }

  /** No fault: every call goes through (calls are still recorded). */
  reset(): void {
    this.arm();
  }

  /** How many errors each armed plan has thrown, in the order they were armed. */
  get fired(): readonly number[] {
    return this.firedByPlan;
  }

  /** The distinct `service:command` pairs each Task state called, in first-call order. */
  commandsByState(): Map<string, { service: ServiceName; command: string }[]> {
    const out = new Map<string, { service: ServiceName; command: string }[]>();
    for (const call of this.calls) {
      if (call.state === undefined) continue;
      const list = out.get(call.state) ?? [];
      if (!list.some((c) => c.service === call.service && c.command === call.command))
        list.push({ service: call.service, command: call.command });
      out.set(call.state, list);
    }
    return out;
  }
}
