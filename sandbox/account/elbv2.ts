/**
 * Emulated Elastic Load Balancing v2 (Application Load Balancers): the target groups and
 * listeners the templates create (the hyperscale tier's front door forwards to the stage's
 * target group) and the target groups and listener rules the preview state machine adds and
 * removes at run time. A target group's targets are the tasks ECS registers in it: the live
 * tasks of the ECS services whose `loadBalancers` name it.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  type Action,
  type AddTagsCommandInput,
  type AddTagsCommandOutput,
  type CreateRuleCommandInput,
  type CreateRuleCommandOutput,
  type CreateTargetGroupCommandInput,
  type CreateTargetGroupCommandOutput,
  type DeleteRuleCommandInput,
  type DeleteRuleCommandOutput,
  type DeleteTargetGroupCommandInput,
  type DeleteTargetGroupCommandOutput,
  type DescribeListenersCommandInput,
  type DescribeListenersCommandOutput,
  type DescribeRulesCommandInput,
  type DescribeRulesCommandOutput,
  type DescribeTagsCommandInput,
  type DescribeTagsCommandOutput,
  type DescribeTargetGroupsCommandInput,
  type DescribeTargetGroupsCommandOutput,
  DuplicateTagKeysException,
  DuplicateTargetGroupNameException,
  ElasticLoadBalancingV2ServiceException,
  type Listener,
  ListenerNotFoundException,
  LoadBalancerNotFoundException,
  OperationNotPermittedException,
  PriorityInUseException,
  ResourceInUseException,
  type Rule,
  RuleNotFoundException,
  type Tag,
  type TargetGroup,
  TargetGroupNotFoundException,
  TooManyTagsException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsError, namedError } from './errors.ts';
import { randomId } from './ids.ts';
import { pageOf } from './paging.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

type TargetGroupRecord = Omit<TargetGroup, 'LoadBalancerArns'> & {
  TargetGroupArn: string;
  createdAt: number;
};
type ListenerRecord = Listener & { ListenerArn: string; LoadBalancerArn: string };
type RuleRecord = Rule & { RuleArn: string; listenerArn: string; createdAt: number };

interface Elbv2State {
  /** Keyed by ARN. */
  targetGroups: Record<string, TargetGroupRecord>;
  listeners: Record<string, ListenerRecord>;
  /** The listeners' rules other than their default rule. */
  rules: Record<string, RuleRecord>;
  tags: Record<string, Tag[]>;
}

/** What ELB needs of ECS: the tasks registered in a target group (its targets). */
export interface TargetRegistrations {
  registeredTasks(registry: { targetGroupArn: string }): readonly unknown[];
}

const MAX_TAGS = 50;
const PAGE = { default: 400, max: 400 } as const;
/** Rule priorities a listener takes (the default rule has none). */
const PRIORITIES = { min: 1, max: 50_000 } as const;

const validation = (message: string) =>
  namedError(ElasticLoadBalancingV2ServiceException, 'ValidationError', message);

/** The target groups an action sends to (a plain forward, or a weighted forward config). */
export function forwardedTargetGroups(action: Action): string[] {
  if (action.Type !== 'forward') return [];
  return [
    ...(action.TargetGroupArn ? [action.TargetGroupArn] : []),
    ...(action.ForwardConfig?.TargetGroups ?? []).flatMap((t) =>
      t.TargetGroupArn ? [t.TargetGroupArn] : [],
    ),
  ];
}

export class Elbv2Emulator implements Emulator {
  readonly service = 'ElasticLoadBalancingV2';
  private readonly file: JsonFile<Elbv2State>;

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
    private readonly ecs: TargetRegistrations,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'elbv2.json'), () => ({
      targetGroups: {},
      listeners: {},
      rules: {},
      tags: {},
    }));
  }

  private get state(): Elbv2State {
    return this.file.value;
  }

  save(): void {
    this.file.save();
  }

  // ---- what the templates create (with the ARNs their stacks gave them) ----

  /** A template's `AWS::ElasticLoadBalancingV2::TargetGroup`. Does nothing when it exists. */
  ensureTargetGroup(arn: string, input: CreateTargetGroupCommandInput): void {
    if (this.state.targetGroups[arn]) return;
    this.state.targetGroups[arn] = targetGroupRecord(arn, input, this.ctx.clock.now());
    if (input.Tags?.length) this.state.tags[arn] = input.Tags;
  }

  /** A template's `AWS::ElasticLoadBalancingV2::Listener`. Does nothing when it exists. */
  ensureListener(listener: ListenerRecord, tags?: Tag[]): void {
    if (this.state.listeners[listener.ListenerArn]) return;
    this.state.listeners[listener.ListenerArn] = structuredClone(listener);
    if (tags?.length) this.state.tags[listener.ListenerArn] = tags;
  }

  /**
   * The load balancers a target group is attached to (a listener's default action or a rule
   * forwards to it); undefined when there is no such target group.
   */
  loadBalancersOf(targetGroupArn: string): string[] | undefined {
    if (!this.state.targetGroups[targetGroupArn]) return undefined;
    const listeners = Object.values(this.state.listeners).filter((l) =>
      [...(l.DefaultActions ?? []), ...this.ruleRecords(l.ListenerArn).flatMap((r) => r.Actions ?? [])].some(
        (a) => forwardedTargetGroups(a).includes(targetGroupArn),
      ),
    );
    return [...new Set(listeners.map((l) => l.LoadBalancerArn))];
  }

  /** The ARNs of the listeners whose default action forwards to `targetGroupArn` (a stage's target group). */
  listenersForwardingTo(targetGroupArn: string): string[] {
    return Object.values(this.state.listeners)
      .filter((l) => (l.DefaultActions ?? []).some((a) => forwardedTargetGroups(a).includes(targetGroupArn)))
      .map((l) => l.ListenerArn);
  }

  /**
   * A listener's rules as DescribeRules lists them (undefined when there is no such listener):
   * what the sandbox's front door routes by.
   */
  listenerRules(listenerArn: string): Rule[] | undefined {
    const listener = this.state.listeners[listenerArn];
    return listener ? structuredClone(this.rulesOf(listener)) : undefined;
  }

  // ---- the commands ----

  readonly commands = {
    CreateTargetGroup: (input: CreateTargetGroupCommandInput): Result<CreateTargetGroupCommandOutput> => {
      const name = input.Name ?? '';
      validateTargetGroupName(name);
      const existing = Object.values(this.state.targetGroups).find((g) => g.TargetGroupName === name);
      if (existing) {
        // The same request again answers the same target group; other settings are a conflict.
        const same = sameSettings(
          existing,
          targetGroupRecord(existing.TargetGroupArn, input, existing.createdAt),
        );
        if (!same) {
          throw awsError(
            DuplicateTargetGroupNameException,
            `A target group with the same name '${name}' exists, but with different settings`,
          );
        }
        return { TargetGroups: [this.targetGroup(existing)] };
      }
      if ((input.Tags?.length ?? 0) > MAX_TAGS) throw tooManyTags();
      const arn = `arn:aws:elasticloadbalancing:${this.ctx.region}:${this.ctx.accountId}:targetgroup/${name}/${randomId(16, 'hex')}`;
      const record = targetGroupRecord(arn, input, this.ctx.clock.now());
      this.state.targetGroups[arn] = record;
      if (input.Tags?.length) this.state.tags[arn] = input.Tags;
      return { TargetGroups: [this.targetGroup(record)] };
    },
    DescribeTargetGroups: (
      input: DescribeTargetGroupsCommandInput,
    ): Result<DescribeTargetGroupsCommandOutput> => {
      const all = Object.values(this.state.targetGroups).sort((a, b) => a.createdAt - b.createdAt);
      let found = all;
      if (input.Names?.length) {
        found = input.Names.map((n) => all.find((g) => g.TargetGroupName === n)).filter(
          (g) => g !== undefined,
        );
        if (found.length < input.Names.length) throw targetGroupsNotFound();
      } else if (input.TargetGroupArns?.length) {
        found = input.TargetGroupArns.map((arn) => this.state.targetGroups[arn]).filter(
          (g) => g !== undefined,
        );
        if (found.length < input.TargetGroupArns.length) throw targetGroupsNotFound();
      } else if (input.LoadBalancerArn) {
        const loadBalancer = input.LoadBalancerArn;
        found = all.filter((g) => this.loadBalancersOf(g.TargetGroupArn)?.includes(loadBalancer));
      }
      const { items, next } = pageOf(found, input.PageSize, input.Marker, PAGE);
      return { TargetGroups: items.map((g) => this.targetGroup(g)), ...(next && { NextMarker: next }) };
    },
    DeleteTargetGroup: (input: DeleteTargetGroupCommandInput): Result<DeleteTargetGroupCommandOutput> => {
      const arn = input.TargetGroupArn ?? '';
      // Deleting a target group that does not exist succeeds, as on AWS.
      if (!this.state.targetGroups[arn]) return {};
      if ((this.loadBalancersOf(arn) ?? []).length > 0) {
        throw awsError(
          ResourceInUseException,
          `Target group '${arn}' is currently in use by a listener or a rule`,
        );
      }
      const targets = this.ecs.registeredTasks({ targetGroupArn: arn }).length;
      if (targets > 0) {
        throw awsError(
          ResourceInUseException,
          `Target group '${arn}' is currently in use by an ECS service (${targets} registered targets)`,
        );
      }
      delete this.state.targetGroups[arn];
      delete this.state.tags[arn];
      return {};
    },
    DescribeListeners: (input: DescribeListenersCommandInput): Result<DescribeListenersCommandOutput> => {
      const all = Object.values(this.state.listeners);
      let found = all;
      if (input.ListenerArns?.length) {
        found = input.ListenerArns.map((arn) => this.state.listeners[arn]).filter((l) => l !== undefined);
        if (found.length < input.ListenerArns.length) throw listenersNotFound();
      } else if (input.LoadBalancerArn) {
        found = all.filter((l) => l.LoadBalancerArn === input.LoadBalancerArn);
      }
      const { items, next } = pageOf(found, input.PageSize, input.Marker, PAGE);
      return { Listeners: structuredClone(items), ...(next && { NextMarker: next }) };
    },
    CreateRule: (input: CreateRuleCommandInput): Result<CreateRuleCommandOutput> => {
      const listener = this.listener(input.ListenerArn);
      const priority = input.Priority ?? 0;
      if (!Number.isInteger(priority) || priority < PRIORITIES.min || priority > PRIORITIES.max) {
        throw validation(
          `Priority '${priority}' must be between ${PRIORITIES.min} and ${PRIORITIES.max} (inclusive)`,
        );
      }
      if (this.ruleRecords(listener.ListenerArn).some((r) => r.Priority === String(priority)))
        throw awsError(PriorityInUseException, `Priority '${priority}' is currently in use`);
      if (!input.Conditions?.length) throw validation('A rule must have at least one condition');
      if (!input.Actions?.length) throw validation('A rule must have at least one action');
      for (const action of input.Actions)
        for (const arn of forwardedTargetGroups(action))
          if (!this.state.targetGroups[arn]) throw targetGroupsNotFound();
      if ((input.Tags?.length ?? 0) > MAX_TAGS) throw tooManyTags();
      const ruleArn = `${listener.ListenerArn.replace(':listener/', ':listener-rule/')}/${randomId(16, 'hex')}`;
      const rule: RuleRecord = {
        RuleArn: ruleArn,
        listenerArn: listener.ListenerArn,
        Priority: String(priority),
        Conditions: structuredClone(input.Conditions),
        Actions: structuredClone(input.Actions),
        IsDefault: false,
        ...(input.Transforms?.length && { Transforms: structuredClone(input.Transforms) }),
        createdAt: this.ctx.clock.now(),
      };
      this.state.rules[ruleArn] = rule;
      if (input.Tags?.length) this.state.tags[ruleArn] = input.Tags;
      return { Rules: [ruleOutput(rule)] };
    },
    DescribeRules: (input: DescribeRulesCommandInput): Result<DescribeRulesCommandOutput> => {
      let found: Rule[];
      if (input.RuleArns?.length) {
        const byArn = new Map(
          Object.values(this.state.listeners).flatMap((l) =>
            this.rulesOf(l).map((r) => [r.RuleArn ?? '', r] as const),
          ),
        );
        found = input.RuleArns.map((arn) => byArn.get(arn)).filter((r) => r !== undefined);
        if (found.length < input.RuleArns.length) throw rulesNotFound();
      } else if (input.ListenerArn) {
        found = this.rulesOf(this.listener(input.ListenerArn));
      } else {
        throw validation('You must specify either listener ARN or rule ARNs');
      }
      const { items, next } = pageOf(found, input.PageSize, input.Marker, PAGE);
      return { Rules: structuredClone(items), ...(next && { NextMarker: next }) };
    },
    DeleteRule: (input: DeleteRuleCommandInput): Result<DeleteRuleCommandOutput> => {
      const arn = input.RuleArn ?? '';
      if (!this.state.rules[arn]) {
        const listener = Object.values(this.state.listeners).find(
          (l) => defaultRuleArn(l.ListenerArn) === arn,
        );
        if (listener)
          throw awsError(OperationNotPermittedException, `Default rule '${arn}' cannot be deleted`);
        throw rulesNotFound();
      }
      delete this.state.rules[arn];
      delete this.state.tags[arn];
      return {};
    },
    AddTags: (input: AddTagsCommandInput): Result<AddTagsCommandOutput> => {
      const tags = input.Tags ?? [];
      const keys = tags.map((t) => t.Key);
      const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
      if (duplicate !== undefined)
        throw awsError(DuplicateTagKeysException, `Tag key '${duplicate}' was specified more than once`);
      const arns = input.ResourceArns ?? [];
      for (const arn of arns) this.taggable(arn);
      for (const arn of arns) {
        const kept = (this.state.tags[arn] ?? []).filter((t) => !keys.includes(t.Key));
        if (kept.length + tags.length > MAX_TAGS) throw tooManyTags();
        this.state.tags[arn] = [...kept, ...structuredClone(tags)];
      }
      return {};
    },
    DescribeTags: (input: DescribeTagsCommandInput): Result<DescribeTagsCommandOutput> => ({
      TagDescriptions: (input.ResourceArns ?? []).map((arn) => ({
        ResourceArn: this.taggable(arn),
        Tags: structuredClone(this.state.tags[arn] ?? []),
      })),
    }),
  };

  // ---- helpers ----

  private listener(arn: string | undefined): ListenerRecord {
    const listener = this.state.listeners[arn ?? ''];
    if (!listener) throw listenersNotFound();
    return listener;
  }

  private ruleRecords(listenerArn: string): RuleRecord[] {
    return Object.values(this.state.rules).filter((r) => r.listenerArn === listenerArn);
  }

  /** A listener's rules by priority, its default rule last (what DescribeRules lists). */
  private rulesOf(listener: ListenerRecord): Rule[] {
    return [
      ...this.ruleRecords(listener.ListenerArn)
        .sort((a, b) => Number(a.Priority) - Number(b.Priority))
        .map(ruleOutput),
      {
        RuleArn: defaultRuleArn(listener.ListenerArn),
        Priority: 'default',
        Conditions: [],
        Actions: structuredClone(listener.DefaultActions ?? []),
        IsDefault: true,
      },
    ];
  }

  /** The ARN of a resource that takes tags, refusing one that does not exist. */
  private taggable(arn: string): string {
    if (this.state.targetGroups[arn] || this.state.listeners[arn] || this.state.rules[arn]) return arn;
    if (arn.includes(':targetgroup/')) throw targetGroupsNotFound();
    if (arn.includes(':listener-rule/')) throw rulesNotFound();
    if (arn.includes(':listener/')) throw listenersNotFound();
    throw awsError(LoadBalancerNotFoundException, 'One or more load balancers not found');
  }

  private targetGroup(record: TargetGroupRecord): TargetGroup {
    const { createdAt: _created, ...group } = structuredClone(record);
    return { ...group, LoadBalancerArns: this.loadBalancersOf(record.TargetGroupArn) ?? [] };
  }
}

/** A target group as CreateTargetGroup makes it: AWS's defaults for what the input leaves out. */
function targetGroupRecord(
  arn: string,
  input: CreateTargetGroupCommandInput,
  createdAt: number,
): TargetGroupRecord {
  const protocol = input.Protocol ?? 'HTTP';
  const http = protocol === 'HTTP' || protocol === 'HTTPS';
  return {
    TargetGroupArn: arn,
    TargetGroupName: input.Name ?? '',
    Protocol: protocol,
    Port: input.Port ?? 80,
    ...(input.VpcId !== undefined && { VpcId: input.VpcId }),
    HealthCheckProtocol: input.HealthCheckProtocol ?? protocol,
    HealthCheckPort: input.HealthCheckPort ?? 'traffic-port',
    HealthCheckEnabled: input.HealthCheckEnabled ?? true,
    HealthCheckIntervalSeconds: input.HealthCheckIntervalSeconds ?? 30,
    HealthCheckTimeoutSeconds: input.HealthCheckTimeoutSeconds ?? 5,
    HealthyThresholdCount: input.HealthyThresholdCount ?? 5,
    UnhealthyThresholdCount: input.UnhealthyThresholdCount ?? 2,
    ...(http && { HealthCheckPath: input.HealthCheckPath ?? '/' }),
    ...(http && { Matcher: { HttpCode: input.Matcher?.HttpCode ?? '200' } }),
    TargetType: input.TargetType ?? 'instance',
    ...(http && { ProtocolVersion: input.ProtocolVersion ?? 'HTTP1' }),
    IpAddressType: input.IpAddressType ?? 'ipv4',
    createdAt,
  };
}

function sameSettings(a: TargetGroupRecord, b: TargetGroupRecord): boolean {
  const settings = ({ createdAt: _c, TargetGroupArn: _a, ...rest }: TargetGroupRecord) =>
    JSON.stringify(Object.entries(rest).sort(([x], [y]) => x.localeCompare(y)));
  return settings(a) === settings(b);
}

/** A target group name: 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen. */
function validateTargetGroupName(name: string): void {
  if (name.length > 32) throw validation(`Target group name '${name}' cannot be longer than '32' characters`);
  if (!/^[A-Za-z0-9-]+$/.test(name)) {
    throw validation(
      `Target group name '${name}' can only contain characters that are alphanumeric characters or hyphens(-)`,
    );
  }
  if (name.startsWith('-') || name.endsWith('-'))
    throw validation(`Target group name '${name}' cannot begin or end with '-'`);
}

/** The default rule's ARN: stable for its listener (AWS gives it one when it creates the listener). */
function defaultRuleArn(listenerArn: string): string {
  const id = createHash('sha256').update(listenerArn).digest('hex').slice(0, 16);
  return `${listenerArn.replace(':listener/', ':listener-rule/')}/${id}`;
}

function ruleOutput({ listenerArn: _listener, createdAt: _created, ...rule }: RuleRecord): Rule {
  return structuredClone(rule);
}

const targetGroupsNotFound = () =>
  awsError(TargetGroupNotFoundException, 'One or more target groups not found');
const listenersNotFound = () => awsError(ListenerNotFoundException, 'One or more listeners not found');
const rulesNotFound = () => awsError(RuleNotFoundException, 'One or more rules not found');
const tooManyTags = () =>
  awsError(
    TooManyTagsException,
    `The quota for the number of tags that can be assigned to a resource (${MAX_TAGS}) has been reached`,
  );
