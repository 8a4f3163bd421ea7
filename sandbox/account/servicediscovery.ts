/**
 * Emulated AWS Cloud Map: the private DNS namespaces and services the templates create (the
 * standard tier registers a stage's tasks in one) and the services the preview state machine
 * creates and deletes at run time. A service's instances are the tasks ECS registers in it:
 * the live tasks of the ECS services whose `serviceRegistries` name it, so a service cannot be
 * deleted while such a task has not stopped (ResourceInUse), as on AWS.
 */
import { join } from 'node:path';
import {
  type CreateServiceCommandInput,
  type CreateServiceCommandOutput,
  type DeleteServiceCommandInput,
  type DeleteServiceCommandOutput,
  type DnsConfig,
  type GetServiceCommandInput,
  type GetServiceCommandOutput,
  type HealthCheckCustomConfig,
  InvalidInput,
  type ListServicesCommandInput,
  type ListServicesCommandOutput,
  type ListTagsForResourceCommandInput,
  type ListTagsForResourceCommandOutput,
  NamespaceNotFound,
  ResourceInUse,
  ResourceNotFoundException,
  type Service,
  ServiceAlreadyExists,
  ServiceNotFound,
  type ServiceSummary,
  type Tag,
  type TagResourceCommandInput,
  type TagResourceCommandOutput,
  TooManyTagsException,
} from '@aws-sdk/client-servicediscovery';
import { awsError } from './errors.ts';
import { randomId } from './ids.ts';
import { pageOf } from './paging.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

interface NamespaceRecord {
  id: string;
  arn: string;
  name: string;
  type: 'DNS_PRIVATE';
  description?: string;
  createdAt: number;
}

interface ServiceRecord {
  id: string;
  arn: string;
  name: string;
  namespaceId: string;
  description?: string;
  creatorRequestId?: string;
  dnsConfig?: DnsConfig;
  healthCheckCustomConfig?: HealthCheckCustomConfig;
  createdAt: number;
}

interface CloudMapState {
  namespaces: Record<string, NamespaceRecord>;
  /** Keyed by service id. */
  services: Record<string, ServiceRecord>;
  /** Tags by resource ARN. */
  tags: Record<string, Tag[]>;
}

/** What Cloud Map needs of ECS: the tasks registered in a service (its instances). */
export interface CloudMapRegistrations {
  registeredTasks(registry: { registryArn: string }): readonly unknown[];
}

/** A resource has at most 50 tags. */
const MAX_TAGS = 50;
/** A DNS service name: labels of letters, digits, `-` and `_`, at most 127 characters in all. */
const DNS_NAME =
  /^(?=.{1,127}$)[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*$/;

export class ServiceDiscoveryEmulator implements Emulator {
  readonly service = 'ServiceDiscovery';
  private readonly file: JsonFile<CloudMapState>;

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
    private readonly ecs: CloudMapRegistrations,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'servicediscovery.json'), () => ({
      namespaces: {},
      services: {},
      tags: {},
    }));
  }

  private get state(): CloudMapState {
    return this.file.value;
  }

  save(): void {
    this.file.save();
  }

  /** A template's `AWS::ServiceDiscovery::PrivateDnsNamespace`, with the id its stack gave it. Does nothing when it exists. */
  ensureNamespace(spec: { id: string; arn: string; name: string; description?: string; tags?: Tag[] }): void {
    if (this.state.namespaces[spec.id]) return;
    this.state.namespaces[spec.id] = {
      id: spec.id,
      arn: spec.arn,
      name: spec.name,
      type: 'DNS_PRIVATE',
      ...(spec.description !== undefined && { description: spec.description }),
      createdAt: this.ctx.clock.now(),
    };
    if (spec.tags?.length) this.state.tags[spec.arn] = spec.tags;
  }

  /** A template's `AWS::ServiceDiscovery::Service`, with the id and ARN its stack gave it. Does nothing when it exists. */
  ensureService(spec: { id: string; arn: string; input: CreateServiceCommandInput }): void {
    if (this.state.services[spec.id]) return;
    this.create(spec.id, spec.arn, spec.input);
  }

  readonly commands = {
    CreateService: (input: CreateServiceCommandInput): Result<CreateServiceCommandOutput> => {
      const namespaceId = input.NamespaceId ?? input.DnsConfig?.NamespaceId ?? '';
      const existing = Object.values(this.state.services).find(
        (s) => s.namespaceId === namespaceId && s.name.toLowerCase() === (input.Name ?? '').toLowerCase(),
      );
      // The same request again (a retry with its CreatorRequestId) answers the service it created.
      if (existing && input.CreatorRequestId && existing.creatorRequestId === input.CreatorRequestId)
        return { Service: this.describe(existing) };
      if (existing) {
        throw awsError(ServiceAlreadyExists, 'Service already exists.', {
          extra: { ServiceId: existing.id, CreatorRequestId: existing.creatorRequestId },
        });
      }
      const id = `srv-${randomId(16)}`;
      const arn = `arn:aws:servicediscovery:${this.ctx.region}:${this.ctx.accountId}:service/${id}`;
      return { Service: this.describe(this.create(id, arn, input)) };
    },
    GetService: (input: GetServiceCommandInput): Result<GetServiceCommandOutput> => ({
      Service: this.describe(this.serviceRecord(input.Id)),
    }),
    ListServices: (input: ListServicesCommandInput): Result<ListServicesCommandOutput> => {
      const namespaces = this.namespaceFilter(input);
      const services = Object.values(this.state.services)
        .filter((s) => !namespaces || namespaces.includes(s.namespaceId))
        .sort((a, b) => a.createdAt - b.createdAt);
      const { items, next } = pageOf(services, input.MaxResults, input.NextToken, { default: 100, max: 100 });
      return { Services: items.map((s) => this.summary(s)), ...(next && { NextToken: next }) };
    },
    DeleteService: (input: DeleteServiceCommandInput): Result<DeleteServiceCommandOutput> => {
      const service = this.serviceRecord(input.Id);
      if (this.instanceCount(service) > 0) {
        throw awsError(
          ResourceInUse,
          'Service contains registered instances; delete the instances before deleting the service',
        );
      }
      delete this.state.services[service.id];
      delete this.state.tags[service.arn];
      return {};
    },
    TagResource: (input: TagResourceCommandInput): Result<TagResourceCommandOutput> => {
      const arn = this.resourceArn(input.ResourceARN);
      const kept = (this.state.tags[arn] ?? []).filter((t) => !input.Tags?.some((n) => n.Key === t.Key));
      const tags = [...kept, ...(input.Tags ?? [])];
      if (tags.length > MAX_TAGS) {
        throw awsError(TooManyTagsException, `The resource can have at most ${MAX_TAGS} tags.`, {
          extra: { ResourceName: arn },
        });
      }
      this.state.tags[arn] = tags;
      return {};
    },
    ListTagsForResource: (
      input: ListTagsForResourceCommandInput,
    ): Result<ListTagsForResourceCommandOutput> => ({
      Tags: this.state.tags[this.resourceArn(input.ResourceARN)] ?? [],
    }),
  };

  private create(id: string, arn: string, input: CreateServiceCommandInput): ServiceRecord {
    const name = input.Name ?? '';
    const namespaceId = input.NamespaceId ?? input.DnsConfig?.NamespaceId ?? '';
    if (!DNS_NAME.test(name)) {
      throw awsError(InvalidInput, `Service name ${name} is not a valid DNS label sequence.`);
    }
    if (!this.state.namespaces[namespaceId]) {
      throw awsError(NamespaceNotFound, `No namespace exists with the specified ID: ${namespaceId}`);
    }
    if ((input.Tags?.length ?? 0) > MAX_TAGS) {
      throw awsError(TooManyTagsException, `The resource can have at most ${MAX_TAGS} tags.`);
    }
    const { NamespaceId: _namespace, ...dnsConfig } = input.DnsConfig ?? { DnsRecords: [] };
    const record: ServiceRecord = {
      id,
      arn,
      name,
      namespaceId,
      createdAt: this.ctx.clock.now(),
      ...(input.Description !== undefined && { description: input.Description }),
      ...(input.CreatorRequestId !== undefined && { creatorRequestId: input.CreatorRequestId }),
      ...(input.DnsConfig && { dnsConfig }),
      ...(input.HealthCheckCustomConfig && { healthCheckCustomConfig: input.HealthCheckCustomConfig }),
    };
    this.state.services[id] = record;
    if (input.Tags?.length) this.state.tags[arn] = input.Tags;
    return record;
  }

  private serviceRecord(id: string | undefined): ServiceRecord {
    const service = this.state.services[id ?? ''];
    if (!service) throw awsError(ServiceNotFound, `No service exists with the specified ID: ${id}`);
    return service;
  }

  /** The namespaces a NAMESPACE_ID filter keeps (EQ: one value; IN: any of them); undefined without one. */
  private namespaceFilter(input: ListServicesCommandInput): string[] | undefined {
    const filter = input.Filters?.find((f) => f.Name === 'NAMESPACE_ID');
    if (!filter) return undefined;
    const values = filter.Values ?? [];
    const condition = filter.Condition ?? 'EQ';
    if (condition !== 'EQ' && condition !== 'IN')
      throw awsError(InvalidInput, `Condition ${condition} is not supported for the filter NAMESPACE_ID.`);
    if (condition === 'EQ' && values.length !== 1)
      throw awsError(InvalidInput, 'The EQ condition of the filter NAMESPACE_ID takes exactly one value.');
    return values;
  }

  /** The ARN of a namespace or service, refusing others. */
  private resourceArn(arn: string | undefined): string {
    const value = arn ?? '';
    const known =
      Object.values(this.state.services).some((s) => s.arn === value) ||
      Object.values(this.state.namespaces).some((n) => n.arn === value);
    if (!known) throw awsError(ResourceNotFoundException, `Resource ${value} not found.`);
    return value;
  }

  private instanceCount(service: ServiceRecord): number {
    return this.ecs.registeredTasks({ registryArn: service.arn }).length;
  }

  private summary(service: ServiceRecord): ServiceSummary {
    return {
      Id: service.id,
      Arn: service.arn,
      Name: service.name,
      // A service of a DNS namespace with DNS records is discoverable by DNS and by the API.
      Type: service.dnsConfig ? 'DNS_HTTP' : 'HTTP',
      ...(service.description !== undefined && { Description: service.description }),
      InstanceCount: this.instanceCount(service),
      ...(service.dnsConfig && { DnsConfig: structuredClone(service.dnsConfig) }),
      ...(service.healthCheckCustomConfig && {
        HealthCheckCustomConfig: structuredClone(service.healthCheckCustomConfig),
      }),
      CreateDate: new Date(service.createdAt),
      ResourceOwner: this.ctx.accountId,
      CreatedByAccount: this.ctx.accountId,
    };
  }

  private describe(service: ServiceRecord): Service {
    return {
      ...this.summary(service),
      NamespaceId: service.namespaceId,
      ...(service.creatorRequestId !== undefined && { CreatorRequestId: service.creatorRequestId }),
    };
  }
}
