import type { Compatibility, ContainerDefinition, TaskDefinition } from '@aws-sdk/client-ecs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NO_RELEASE, PLACEHOLDER_IMAGE, releasedImageValue } from '#shared/release/placeholder.ts';
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
    const { input, container } = deriveTaskDefinition(described, starterTags, NEW_IMAGE, releaseTags);
    expect(container).toEqual({ name: 'app', image: described.containerDefinitions?.[1]?.image, index: 1 });
    const images = input?.containerDefinitions?.map((c) => c.image);
    expect(images).toEqual([
      'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable',
      NEW_IMAGE,
      '840364872350.dkr.ecr.us-east-1.amazonaws.com/aws-appmesh-envoy:v1.29.6.0-prod',
    ]);
  });

  it('keeps secrets, environment, health checks, log configuration, volumes, placement, proxy and runtime platform', () => {
    const described = starterRevision();
    const { input } = deriveTaskDefinition(described, starterTags, NEW_IMAGE);
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
    const { input } = deriveTaskDefinition(starterRevision(), [], NEW_IMAGE);
    for (const field of READ_ONLY_FIELDS) expect(input).not.toHaveProperty(field);
  });

  it("keeps the user's and the stage's tags, drops the previous release's and AWS's, and adds this release's", () => {
    const tags = [
      ...starterTags,
      { key: 'stackpilot:app', value: 'starter' },
      { key: 'stackpilot:stage', value: 'dev' },
      { key: 'aws:cloudformation:stack-name', value: 'x' },
    ];
    const { input } = deriveTaskDefinition(starterRevision(), tags, NEW_IMAGE, releaseTags);
    expect(input?.tags).toEqual([
      { key: 'team', value: 'web' },
      { key: 'cost-center', value: '42' },
      { key: 'stackpilot:app', value: 'starter' },
      { key: 'stackpilot:stage', value: 'dev' },
      ...releaseTags,
    ]);
  });

  it('registers nothing when the app container already runs the image', () => {
    const described = starterRevision(12, 'c'.repeat(40));
    const result = deriveTaskDefinition(described, starterTags, appImage('starter', 'c'.repeat(40)));
    expect(result.input).toBeUndefined();
    expect(result.container.name).toBe('app');
  });

  it('does not change the described revision it copies', () => {
    const described = starterRevision();
    const before = structuredClone(described);
    deriveTaskDefinition(described, starterTags, NEW_IMAGE);
    expect(described).toEqual(before);
  });

  it('finds the app container of the AWS WordPress example by its name, not the mysql one', () => {
    const { input } = deriveTaskDefinition(wordpressRevision(), [], appImage('blog', '6.5'));
    expect(input?.containerDefinitions?.map((c) => [c.name, c.image])).toEqual([
      ['app', appImage('blog', '6.5')],
      ['mysql', 'mysql'],
    ]);
    expect(input?.containerDefinitions?.[0]?.links).toEqual(['mysql']);
  });

  it('finds the app container by its name whatever its image, and names the containers when there is none', () => {
    const definition = (containers: { name: string; image: string }[]): TaskDefinition => ({
      family: 'f',
      revision: 1,
      containerDefinitions: containers,
    });
    expect(findAppContainer(definition([{ name: 'app', image: PLACEHOLDER_IMAGE }])).image).toBe(
      PLACEHOLDER_IMAGE,
    );
    expect(
      findAppContainer(
        definition([
          { name: 'sidecar', image: appImage('starter', '1') },
          { name: 'app', image: 'nginx' },
        ]),
      ).index,
    ).toBe(1);
    expect(() => findAppContainer(definition([{ name: 'web', image: appImage('starter', '1') }]))).toThrow(
      expect.objectContaining({
        name: 'ContainerNotFound',
        message: expect.stringMatching(/task definition f:1 has no container named "app".*web=/),
      }),
    );
  });

  it('turns the placeholder revision into the app: new image, no placeholder command, entry point or label', () => {
    const placeholder: TaskDefinition = {
      family: 'stackpilot-starter-dev',
      revision: 1,
      containerDefinitions: [
        {
          name: 'app',
          image: PLACEHOLDER_IMAGE,
          command: ['sh', '-c', 'exec httpd -f -p 8080 -h /www'],
          entryPoint: ['/bin/sh'],
          dockerLabels: { 'stackpilot.placeholder': 'true', team: 'web' },
          cpu: 256,
          portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' }],
        },
      ],
    };
    const { input } = deriveTaskDefinition(placeholder, [], NEW_IMAGE);
    expect(input?.containerDefinitions).toEqual([
      {
        name: 'app',
        image: NEW_IMAGE,
        dockerLabels: { team: 'web' },
        cpu: 256,
        portMappings: [{ containerPort: 8080, hostPort: 0, protocol: 'tcp' }],
      },
    ]);
  });

  it("keeps the command of a container that is not the placeholder (the user's own choice)", () => {
    const described = starterRevision();
    const app = described.containerDefinitions?.[1] as ContainerDefinition;
    app.command = ['node', 'server.js'];
    const { input } = deriveTaskDefinition(described, [], NEW_IMAGE);
    expect(input?.containerDefinitions?.[1]?.command).toEqual(['node', 'server.js']);
  });

  it('records the placeholder image as no release at all', () => {
    expect(releasedImageValue(NEW_IMAGE)).toBe(NEW_IMAGE);
    expect(releasedImageValue(PLACEHOLDER_IMAGE)).toBe(NO_RELEASE);
  });

  it('reads family and revision from a revision ARN', () => {
    expect(
      parseTaskDefinitionArn('arn:aws:ecs:us-east-1:123456789012:task-definition/stackpilot-a-b:17'),
    ).toEqual({ family: 'stackpilot-a-b', revision: 17 });
    expect(() => parseTaskDefinitionArn('stackpilot-a-b')).toThrow(/not a task-definition revision ARN/);
  });

  it('carries every tag but the per-release ones and AWS reserved ones', () => {
    expect(
      carriedTags([
        { key: 'aws:x', value: '1' },
        { key: 'stackpilot:image', value: '2' },
        { key: 'stackpilot:commit', value: '3' },
        { key: 'stackpilot:execution', value: '4' },
        { key: 'stackpilot:result', value: '5' },
        { key: 'stackpilot:app', value: 'starter' },
        { key: 'k', value: 'v' },
      ]),
    ).toEqual([
      { key: 'stackpilot:app', value: 'starter' },
      { key: 'k', value: 'v' },
    ]);
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
    name: name.filter((n) => n !== 'app'),
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
        const { input } = deriveTaskDefinition(definition, [], image);
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
        expect(deriveTaskDefinition(definition, [], app?.image as string).input).toBeUndefined();
      }),
    );
  });
});
