import type { Compatibility, ContainerDefinition, TaskDefinition } from '@aws-sdk/client-ecs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  carriedTags,
  deriveTaskDefinition,
  findAppContainer,
  parseTaskDefinitionArn,
  READ_ONLY_FIELDS,
} from '#shared/release/task-definition.ts';
import { appImage, REGISTRY, starterRevision, starterTags, wordpressRevision } from './fixtures.ts';

const NEW_IMAGE = appImage('starter', 'b'.repeat(40));
const releaseTags = [{ key: 'stackpilot:commit', value: 'b'.repeat(40) }];

function withoutReadOnly(definition: TaskDefinition): Record<string, unknown> {
  const copy = structuredClone(definition) as Record<string, unknown>;
  for (const field of READ_ONLY_FIELDS) delete copy[field];
  return copy;
}

describe('task-definition derivation', () => {
  it('swaps only the app container image of a revision with a log router and an Envoy sidecar', () => {
    const described = starterRevision();
    const { input, container } = deriveTaskDefinition(
      described,
      starterTags,
      'starter',
      NEW_IMAGE,
      releaseTags,
    );
    expect(container).toEqual({ name: 'web', image: described.containerDefinitions?.[1]?.image, index: 1 });
    const images = input?.containerDefinitions?.map((c) => c.image);
    expect(images).toEqual([
      'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable',
      NEW_IMAGE,
      '840364872350.dkr.ecr.us-east-1.amazonaws.com/aws-appmesh-envoy:v1.29.6.0-prod',
    ]);
  });

  it('keeps secrets, environment, health checks, log configuration, volumes, placement, proxy and runtime platform', () => {
    const described = starterRevision();
    const { input } = deriveTaskDefinition(described, starterTags, 'starter', NEW_IMAGE);
    const web = input?.containerDefinitions?.[1];
    expect(web?.secrets).toEqual(described.containerDefinitions?.[1]?.secrets);
    expect(web?.environment).toEqual(described.containerDefinitions?.[1]?.environment);
    expect(web?.healthCheck).toEqual(described.containerDefinitions?.[1]?.healthCheck);
    expect(web?.logConfiguration?.logDriver).toBe('awsfirelens');
    expect(web?.dependsOn).toEqual([{ containerName: 'envoy', condition: 'HEALTHY' }]);
    expect(input).toMatchObject({
      family: 'stackpilot-starter-dev',
      taskRoleArn: described.taskRoleArn,
      executionRoleArn: described.executionRoleArn,
      volumes: described.volumes,
      placementConstraints: described.placementConstraints,
      proxyConfiguration: described.proxyConfiguration,
      runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
      requiresCompatibilities: ['EC2'],
      cpu: '256',
      memory: '512',
    });
  });

  it('drops every read-only field', () => {
    const { input } = deriveTaskDefinition(starterRevision(), [], 'starter', NEW_IMAGE);
    for (const field of READ_ONLY_FIELDS) expect(input).not.toHaveProperty(field);
  });

  it("keeps the user's tags, drops the previous release's and AWS's, and adds this release's", () => {
    const tags = [...starterTags, { key: 'aws:cloudformation:stack-name', value: 'x' }];
    const { input } = deriveTaskDefinition(starterRevision(), tags, 'starter', NEW_IMAGE, releaseTags);
    expect(input?.tags).toEqual([
      { key: 'team', value: 'web' },
      { key: 'cost-center', value: '42' },
      ...releaseTags,
    ]);
  });

  it('registers nothing when the app container already runs the image', () => {
    const described = starterRevision(12, 'c'.repeat(40));
    const result = deriveTaskDefinition(
      described,
      starterTags,
      'starter',
      appImage('starter', 'c'.repeat(40)),
    );
    expect(result.input).toBeUndefined();
    expect(result.container.name).toBe('web');
  });

  it('does not change the described revision it copies', () => {
    const described = starterRevision();
    const before = structuredClone(described);
    deriveTaskDefinition(described, starterTags, 'starter', NEW_IMAGE);
    expect(described).toEqual(before);
  });

  it('finds the app container of the AWS WordPress example, not the mysql one', () => {
    const { input } = deriveTaskDefinition(wordpressRevision(), [], 'blog', appImage('blog', '6.5'));
    expect(input?.containerDefinitions?.map((c) => [c.name, c.image])).toEqual([
      ['wordpress', appImage('blog', '6.5')],
      ['mysql', 'mysql'],
    ]);
    expect(input?.containerDefinitions?.[0]?.links).toEqual(['mysql']);
  });

  it('matches images by repository: tags, digests, another app with a longer name', () => {
    const digest = `${REGISTRY}/stackpilot/starter@sha256:${'f'.repeat(64)}`;
    const definition = (images: string[]): TaskDefinition => ({
      family: 'f',
      revision: 1,
      containerDefinitions: images.map((image, i) => ({ name: `c${i}`, image })),
    });
    expect(findAppContainer(definition(['nginx', digest]), 'starter').name).toBe('c1');
    expect(findAppContainer(definition([`${REGISTRY}/stackpilot/starter`]), 'starter').name).toBe('c0');
    expect(() => findAppContainer(definition([`${REGISTRY}/stackpilot/starter-api:1`]), 'starter')).toThrow(
      /no container of task definition f:1 runs an image of the ECR repository stackpilot\/starter/,
    );
    expect(() => findAppContainer(definition([`${REGISTRY}/other/starter:1`]), 'starter')).toThrow(
      expect.objectContaining({ name: 'ContainerNotFound' }),
    );
  });

  it('refuses a revision where two containers run the app image, naming them', () => {
    const definition: TaskDefinition = {
      family: 'stackpilot-starter-dev',
      revision: 4,
      containerDefinitions: [
        { name: 'web', image: appImage('starter', '1') },
        { name: 'worker', image: appImage('starter', '1') },
      ],
    };
    expect(() => deriveTaskDefinition(definition, [], 'starter', NEW_IMAGE)).toThrow(
      expect.objectContaining({
        name: 'AmbiguousContainer',
        message: expect.stringContaining('web, worker'),
      }),
    );
  });

  it('reads family and revision from a revision ARN', () => {
    expect(
      parseTaskDefinitionArn('arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-a-b:17'),
    ).toEqual({ family: 'stackpilot-a-b', revision: 17 });
    expect(() => parseTaskDefinitionArn('stackpilot-a-b')).toThrow(/not a task-definition revision ARN/);
  });

  it('carries no aws: or stackpilot: tag', () => {
    expect(
      carriedTags([
        { key: 'aws:x', value: '1' },
        { key: 'stackpilot:image', value: '2' },
        { key: 'k', value: 'v' },
      ]),
    ).toEqual([{ key: 'k', value: 'v' }]);
  });
});

const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
const otherImage = fc.oneof(
  fc.constantFrom('nginx:1.27', 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable', 'mysql'),
  tag.map((t) => `${REGISTRY}/stackpilot/other:${t}`),
  tag.map((t) => `${REGISTRY}/team/starter:${t}`),
);
const sidecar: fc.Arbitrary<ContainerDefinition> = fc.record(
  {
    name,
    image: otherImage,
    essential: fc.boolean(),
    memoryReservation: fc.integer({ min: 4, max: 1024 }),
    environment: fc.array(fc.record({ name, value: fc.string() }), { maxLength: 3 }),
    secrets: fc.array(fc.record({ name, valueFrom: fc.string({ minLength: 1 }) }), { maxLength: 2 }),
  },
  { requiredKeys: ['name', 'image'] },
);
const described = fc
  .record({
    sidecars: fc.array(sidecar, { maxLength: 4 }),
    appIndex: fc.nat(),
    appTag: tag,
    appEnv: fc.array(fc.record({ name, value: fc.string() }), { maxLength: 3 }),
    revision: fc.integer({ min: 1, max: 5000 }),
    extra: fc.record(
      {
        cpu: fc.constantFrom('256', '512', '1024'),
        memory: fc.constantFrom('512', '1024'),
        networkMode: fc.constantFrom('bridge', 'awsvpc', 'host'),
        volumes: fc.array(fc.record({ name, host: fc.record({ sourcePath: fc.constant('/data') }) }), {
          maxLength: 2,
        }),
        placementConstraints: fc.array(
          fc.record({ type: fc.constant('memberOf' as const), expression: fc.string({ minLength: 1 }) }),
          { maxLength: 2 },
        ),
        runtimePlatform: fc.record({
          cpuArchitecture: fc.constantFrom('X86_64' as const, 'ARM64' as const),
          operatingSystemFamily: fc.constant('LINUX' as const),
        }),
        pidMode: fc.constantFrom('host' as const, 'task' as const),
      },
      { requiredKeys: [] },
    ),
    readOnly: fc.record(
      {
        status: fc.constantFrom('ACTIVE' as const, 'INACTIVE' as const),
        compatibilities: fc.constant<Compatibility[]>(['EC2']),
        requiresAttributes: fc.array(fc.record({ name }), { maxLength: 3 }),
        registeredAt: fc.date({ noInvalidDate: true }),
        registeredBy: fc.string(),
        deregisteredAt: fc.date({ noInvalidDate: true }),
      },
      { requiredKeys: [] },
    ),
  })
  .map(({ sidecars, appIndex, appTag, appEnv, revision, extra, readOnly }): TaskDefinition => {
    const containers = [...sidecars];
    containers.splice(appIndex % (sidecars.length + 1), 0, {
      name: 'app',
      image: appImage('starter', appTag),
      environment: appEnv,
    });
    return {
      taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-starter-dev:${revision}`,
      family: 'stackpilot-starter-dev',
      revision,
      containerDefinitions: containers,
      ...extra,
      ...readOnly,
    };
  });

describe('task-definition derivation (property)', () => {
  it('registers the described definition minus the read-only fields, with exactly one image changed', () => {
    fc.assert(
      fc.property(described, tag, (definition, newTag) => {
        const image = appImage('starter', `new-${newTag}`);
        fc.pre(definition.containerDefinitions?.every((c) => c.image !== image) ?? true);
        const { input } = deriveTaskDefinition(definition, [], 'starter', image);
        if (!input) throw new Error('a new image must give a registration');
        const expected = withoutReadOnly(definition);
        const { containerDefinitions: registered, ...rest } = input;
        const { containerDefinitions: original, ...expectedRest } = expected as TaskDefinition;
        expect(rest).toEqual(expectedRest);
        expect(registered).toHaveLength(original?.length ?? 0);
        const changed = (registered ?? []).filter((c, i) => c.image !== original?.[i]?.image);
        expect(changed).toHaveLength(1);
        expect(changed[0]?.image).toBe(image);
        // Apart from that one image, every container is exactly as described.
        expect((registered ?? []).map((c) => ({ ...c, image: undefined }))).toEqual(
          (original ?? []).map((c) => ({ ...c, image: undefined })),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('registers nothing for the image already running, whatever the definition', () => {
    fc.assert(
      fc.property(described, (definition) => {
        const app = definition.containerDefinitions?.find((c) => c.name === 'app');
        expect(deriveTaskDefinition(definition, [], 'starter', app?.image as string).input).toBeUndefined();
      }),
    );
  });
});
