import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PREVIEW_DEFINITION_PATH } from '../../infra/constructs/preview-workflow.ts';
import { ControlPlaneStack } from '../../infra/stacks/control-plane-stack.ts';
import { placeholdersOf } from '../../sandbox/state-machines.ts';
import { parseConfig, type StackpilotConfig } from '../../shared/config.ts';
import {
  ecrRepositoryName,
  previewImagesToKeep,
  previewNames,
  previewPipelineName,
  previewRepositoryName,
  previewSourceKey,
  stageNames,
  stateMachineName,
} from '../../shared/naming.ts';
import { type FrontDoor, frontDoorParameter, frontDoorSchema } from '../../shared/preview/front-door.ts';
import { oneStageConfig, synthStage } from './stage-stack.ts';
import { synthApp } from './support.ts';

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const CERTIFICATE = 'arn:aws:acm:us-east-1:111122223333:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

/**
 * App `web` runs its previews in `dev` (standard) and has `prod` (hyperscale, no previews);
 * app `api` runs its previews in `test` (hyperscale with HTTPS).
 */
const CONFIG = parseConfig({
  apps: {
    web: {
      repository: { provider: 'github', url: 'https://github.com/acme/web.git' },
      previews: { stage: 'dev', max: 2 },
      stages: { dev: { branch: 'main' }, prod: { branch: 'release', scale: 'hyperscale' } },
    },
    api: {
      repository: { provider: 'gitlab', url: 'https://gitlab.com/acme/api.git' },
      previews: { stage: 'test' },
      stages: { test: { branch: 'main', scale: 'hyperscale', certificateArn: CERTIFICATE } },
    },
  },
});

/** The preview stages of {@link CONFIG}, and the stage without previews. */
const PREVIEW_STAGES = [
  { app: 'web', stage: 'dev' },
  { app: 'api', stage: 'test' },
] as const;

/**
 * A CloudFormation value as text: `Ref`s as `<Id>`, `Fn::GetAtt`s as `<Id.Attribute>`,
 * `Fn::Join`s joined (what the tests compare the template's joined strings with).
 */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) return `<${v.Ref}>`;
  if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** The logical id of the one resource of `type` whose properties match. */
function logicalId(template: Template, type: string, properties: Record<string, unknown> = {}): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(properties) }));
  expect(found, `${type} ${JSON.stringify(properties)}`).toHaveLength(1);
  return found[0] as string;
}

/** The front door parameter of a stage template, its value rendered and checked against the schema. */
function frontDoorOf(template: Template, app: string, stage: string): FrontDoor {
  const [parameter] = Object.values(
    template.findResources('AWS::SSM::Parameter', {
      Properties: { Name: frontDoorParameter(app, stage), Type: 'String' },
    }),
  );
  expect(parameter, `front door parameter of ${app}/${stage}`).toBeDefined();
  return frontDoorSchema.parse(JSON.parse(render(parameter?.Properties.Value)));
}

describe('previews (web/dev standard and api/test hyperscale run previews; web/prod does not)', () => {
  let synth: ReturnType<typeof synthApp>;
  let controlPlane: Template;
  let stages: Record<string, Template>;
  let statements: Map<string, Statement[]>;

  beforeAll(() => {
    synth = synthApp(CONFIG);
    controlPlane = Template.fromStack(synth.controlPlane);
    stages = Object.fromEntries(synth.stages.map((s) => [s.stackName, Template.fromStack(s)]));
    // Policy statements of each function, by the function's folder.
    statements = new Map();
    const policies = Object.values(controlPlane.findResources('AWS::IAM::Policy'));
    for (const fn of Object.values(controlPlane.findResources('AWS::Lambda::Function'))) {
      const service = fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME as string;
      const role = fn.Properties.Role?.['Fn::GetAtt']?.[0] as string;
      const policy = policies.find((p) => p.Properties.Roles?.some((r: { Ref: string }) => r.Ref === role));
      statements.set(service, policy?.Properties.PolicyDocument.Statement ?? []);
    }
  }, 300_000);

  const stageTemplate = (app: string, stage: string) => {
    const template = stages[`Stackpilot-${app}-${stage}`];
    if (!template) throw new Error(`no stack of ${app}/${stage}`);
    return template;
  };
  const of = (folder: string) => statements.get(`stackpilot-${folder}`) ?? [];
  const sid = (folder: string, name: string) => of(folder).find((s) => s.Sid === name);
  const actions = (folder: string) => of(folder).flatMap((s) => [s.Action].flat());
  const resources = (statement: Statement | undefined) => [statement?.Resource].flat().map(render);
  const environment = (folder: string) => {
    const [fn] = Object.values(
      controlPlane.findResources('AWS::Lambda::Function', {
        Properties: {
          Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: `stackpilot-${folder}` }) },
        },
      }),
    );
    return fn?.Properties.Environment.Variables as Record<string, unknown>;
  };
  const sourceBucket = () => logicalId(controlPlane, 'AWS::S3::Bucket', { VersioningConfiguration: {} });
  const previewMachine = () =>
    logicalId(controlPlane, 'AWS::StepFunctions::StateMachine', {
      StateMachineName: stateMachineName('preview'),
    });

  describe('the preview pipeline', () => {
    it('builds pull requests of web in dev: V2, PARALLEL, from the previews source key, with COMMIT, DELIVERY_ID, PREVIEW and PREVIEW_BRANCH', () => {
      stageTemplate('web', 'dev').hasResourceProperties('AWS::CodePipeline::Pipeline', {
        Name: previewPipelineName('web', 'dev'),
        PipelineType: 'V2',
        ExecutionMode: 'PARALLEL',
        Variables: [
          Match.objectLike({ Name: 'COMMIT', DefaultValue: 'HEAD' }),
          Match.objectLike({ Name: 'DELIVERY_ID', DefaultValue: 'manual' }),
          Match.objectLike({ Name: 'PREVIEW', DefaultValue: '0' }),
          Match.objectLike({ Name: 'PREVIEW_BRANCH', DefaultValue: '-' }),
        ],
        Stages: [
          Match.objectLike({
            Name: 'Source',
            Actions: [
              Match.objectLike({
                Name: 'Source',
                ActionTypeId: Match.objectLike({ Provider: 'S3' }),
                Configuration: Match.objectLike({
                  S3ObjectKey: previewSourceKey('web', 'dev'),
                  PollForSourceChanges: false,
                }),
              }),
            ],
          }),
          Match.objectLike({ Name: 'Build' }),
          Match.objectLike({ Name: 'Preview' }),
        ],
      });
    });

    it('builds with the stage’s CodeBuild project, passing the pull request number as STACKPILOT_PREVIEW and the previews’ repository', () => {
      const template = stageTemplate('web', 'dev');
      const pipelines = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
      const build = (name: string) => {
        const pipeline = pipelines.find((p) => p.Properties.Name === name);
        return pipeline?.Properties.Stages[1].Actions[0];
      };
      const preview = build(previewPipelineName('web', 'dev'));
      expect(preview.Namespace).toBe('Build');
      expect(preview.Configuration.ProjectName).toEqual(
        build(stageNames('web', 'dev').pipeline).Configuration.ProjectName,
      );
      template.resourceCountIs('AWS::CodeBuild::Project', 1);
      expect(JSON.parse(render(preview.Configuration.EnvironmentVariables))).toEqual([
        { name: 'COMMIT', type: 'PLAINTEXT', value: '#{variables.COMMIT}' },
        { name: 'DELIVERY_ID', type: 'PLAINTEXT', value: '#{variables.DELIVERY_ID}' },
        { name: 'STACKPILOT_PREVIEW', type: 'PLAINTEXT', value: '#{variables.PREVIEW}' },
        {
          name: 'ECR_IMAGE_URL',
          type: 'PLAINTEXT',
          value: '<AWS::AccountId>.dkr.ecr.<AWS::Region>.<AWS::URLSuffix>/stackpilot/web/previews',
        },
        { name: 'ECR_REPOSITORY', type: 'PLAINTEXT', value: 'stackpilot/web/previews' },
      ]);
      // The stage's own pipeline keeps the project's variables: the app's repository.
      expect(JSON.parse(build(stageNames('web', 'dev').pipeline).Configuration.EnvironmentVariables)).toEqual(
        [
          { name: 'COMMIT', type: 'PLAINTEXT', value: '#{variables.COMMIT}' },
          { name: 'DELIVERY_ID', type: 'PLAINTEXT', value: '#{variables.DELIVERY_ID}' },
        ],
      );
    });

    it('ends by starting stackpilot-preview by name with the deploy input', () => {
      for (const { app, stage } of PREVIEW_STAGES) {
        const [pipeline] = Object.values(
          stageTemplate(app, stage).findResources('AWS::CodePipeline::Pipeline', {
            Properties: { Name: previewPipelineName(app, stage) },
          }),
        );
        const last = pipeline?.Properties.Stages[2];
        expect(last.Name).toBe('Preview');
        const [action] = last.Actions;
        expect(action.ActionTypeId).toMatchObject({ Category: 'Invoke', Provider: 'StepFunctions' });
        expect(render(action.Configuration.StateMachineArn)).toMatch(
          /^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:stackpilot-preview$/,
        );
        expect(action.Configuration.InputType).toBe('Literal');
        expect(JSON.parse(action.Configuration.Input)).toEqual({
          app,
          stage,
          number: '#{variables.PREVIEW}',
          action: 'deploy',
          branch: '#{variables.PREVIEW_BRANCH}',
          image: '#{Build.IMAGE_URI}',
          commit: '#{Build.COMMIT}',
        });
      }
    });

    it('exists only in the stage that runs the app’s previews, beside an unchanged stage pipeline', () => {
      const names = (app: string, stage: string) =>
        Object.values(stageTemplate(app, stage).findResources('AWS::CodePipeline::Pipeline')).map(
          (p) => p.Properties.Name,
        );
      expect(names('web', 'dev').sort()).toEqual(['stackpilot-web-dev', 'stackpilot-web-dev-previews']);
      expect(names('api', 'test').sort()).toEqual(['stackpilot-api-test', 'stackpilot-api-test-previews']);
      expect(names('web', 'prod')).toEqual(['stackpilot-web-prod']);
      stageTemplate('web', 'dev').hasResourceProperties('AWS::CodePipeline::Pipeline', {
        Name: 'stackpilot-web-dev',
        ExecutionMode: 'SUPERSEDED',
        Variables: [Match.objectLike({ Name: 'COMMIT' }), Match.objectLike({ Name: 'DELIVERY_ID' })],
        Stages: Match.arrayWith([Match.objectLike({ Name: 'Release' })]),
      });
    });
  });

  describe('the previews’ images', () => {
    const repositoryTemplate = (app: string) => {
      const stack = synth.repositories.find((r) => r.stackName === `StackpilotRepository-${app}`);
      if (!stack) throw new Error(`no repository stack of ${app}`);
      return Template.fromStack(stack);
    };
    /** The IAM policies of `template` and, of each, its statements whose resources name `repository`. */
    const policiesOn = (template: Template, repository: string) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .map((p) => ({
          roles: (p.Properties.Roles as Array<{ Ref: string }>).map((r) => r.Ref),
          statements: (p.Properties.PolicyDocument.Statement as Statement[]).filter((st) =>
            [st.Resource].flat().some((r) => JSON.stringify(r).includes(`repository/${repository}"`)),
          ),
        }))
        .filter((p) => p.statements.length > 0);
    /** The ECR actions `template` grants on `repository`. */
    const ecrGrants = (template: Template, repository: string) =>
      policiesOn(template, repository).flatMap((p) => p.statements.flatMap((st) => [st.Action].flat()));

    it('go to a repository of their own, beside the app’s, keeping three images per open preview (at least ten)', () => {
      const template = repositoryTemplate('web');
      template.resourceCountIs('AWS::ECR::Repository', 2);
      const [repository] = Object.values(
        template.findResources('AWS::ECR::Repository', {
          Properties: { RepositoryName: previewRepositoryName('web') },
        }),
      );
      expect(repository?.DeletionPolicy).toBe('Retain');
      const policy = JSON.parse(repository?.Properties.LifecyclePolicy.LifecyclePolicyText);
      expect(policy.rules).toEqual([
        expect.objectContaining({
          selection: {
            tagStatus: 'any',
            countType: 'imageCountMoreThan',
            countNumber: previewImagesToKeep(2),
          },
          action: { type: 'expire' },
        }),
      ]);
      expect(previewImagesToKeep(2)).toBe(10);
      expect(previewImagesToKeep(5)).toBe(15);
    });

    it('are pushed by the build of the preview stage and pulled by its execution role only', () => {
      const dev = stageTemplate('web', 'dev');
      expect(ecrGrants(dev, previewRepositoryName('web'))).toEqual(
        expect.arrayContaining(['ecr:PutImage', 'ecr:BatchGetImage', 'ecr:DescribeImages']),
      );
      const pullers = policiesOn(dev, previewRepositoryName('web')).flatMap((p) => p.roles);
      expect(pullers).toHaveLength(2);
      expect(pullers.some((r: string) => r.includes('ExecutionRole'))).toBe(true);
      expect(pullers.some((r: string) => r.includes('BuildRole'))).toBe(true);
      expect(ecrGrants(stageTemplate('web', 'prod'), previewRepositoryName('web'))).toEqual([]);
    });

    it('have no repository in an app without previews', () => {
      const [stack] = synthApp(oneStageConfig()).repositories;
      if (!stack) throw new Error('no repository stack');
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::ECR::Repository', 1);
      template.hasResourceProperties('AWS::ECR::Repository', { RepositoryName: ecrRepositoryName('web') });
    });
  });

  describe('the front door parameter', () => {
    it('publishes the standard tier’s API, VPC link and the Cloud Map namespace the service registers in', () => {
      const template = stageTemplate('web', 'dev');
      const api = logicalId(template, 'AWS::ApiGatewayV2::Api');
      const vpcLink = logicalId(template, 'AWS::ApiGatewayV2::VpcLink');
      const [registry] = Object.values(template.findResources('AWS::ServiceDiscovery::Service'));
      expect(frontDoorOf(template, 'web', 'dev')).toEqual({
        scale: 'standard',
        url: `<${api}.ApiEndpoint>`,
        apiId: `<${api}>`,
        vpcLinkId: `<${vpcLink}>`,
        namespaceId: render(registry?.Properties.DnsConfig.NamespaceId),
      });
    });

    it('publishes the hyperscale tier’s serving listener (HTTPS with a certificate, else HTTP) and VPC', () => {
      for (const [app, stage, scheme, port] of [
        ['web', 'prod', 'http', 80],
        ['api', 'test', 'https', 443],
      ] as const) {
        const template = stageTemplate(app, stage);
        const loadBalancer = logicalId(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
        expect(frontDoorOf(template, app, stage)).toEqual({
          scale: 'hyperscale',
          url: `${scheme}://<${loadBalancer}.DNSName>`,
          listenerArn: `<${logicalId(template, 'AWS::ElasticLoadBalancingV2::Listener', { Port: port })}>`,
          vpcId: `<${logicalId(template, 'AWS::EC2::VPC')}>`,
        });
      }
    });

    it('uses the custom domain as the URL when the stage has one', () => {
      const { template } = synthStage(
        oneStageConfig(
          {},
          {
            domain: {
              name: 'dev.example.com',
              certificateArn: 'arn:aws:acm:eu-west-1:111122223333:certificate/abc',
            },
          },
        ),
        { env: { account: '111122223333', region: 'eu-west-1' } },
      );
      expect(frontDoorOf(template, 'web', 'dev')).toMatchObject({
        scale: 'standard',
        url: 'https://dev.example.com',
      });
    });
  });

  describe('the preview workflow', () => {
    it('creates stackpilot-preview from the ASL file with every placeholder filled, logged and traced', () => {
      controlPlane.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: 'stackpilot-preview',
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
        DefinitionString: readFileSync(PREVIEW_DEFINITION_PATH, 'utf8'),
        DefinitionSubstitutions: Object.fromEntries(
          placeholdersOf('preview').map((p) => [p, { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] }]),
        ),
      });
    });

    it('gives every function the records bucket and its configuration, and the expiry the state machine', () => {
      for (const folder of [
        'prepare-preview',
        'deploy-preview',
        'check-preview',
        'record-preview',
        'remove-preview',
        'expire-previews',
      ]) {
        expect(environment(folder), folder).toMatchObject({
          PREVIEW_BUCKET: { Ref: sourceBucket() },
          STACKPILOT_CONFIG_FILE: 'stackpilot-config.json',
        });
      }
      expect(environment('expire-previews').PREVIEW_STATE_MACHINE_ARN).toEqual({ Ref: previewMachine() });
    });

    it('runs the expiry every hour', () => {
      const expire = Object.keys(
        controlPlane.findResources('AWS::Lambda::Function', {
          Properties: {
            Environment: {
              Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'stackpilot-expire-previews' }),
            },
          },
        }),
      )[0];
      controlPlane.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 hour)',
        State: 'ENABLED',
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [expire, 'Arn'] } })],
      });
      expect(sid('expire-previews', 'RemoveExpiredPreviews')).toMatchObject({
        Action: 'states:StartExecution',
        Resource: { Ref: previewMachine() },
      });
    });

    it('lets the webhook start previews and count the open ones, the deploy package and build them', () => {
      expect(environment('webhook')).toMatchObject({
        PREVIEW_STATE_MACHINE_ARN: { Ref: previewMachine() },
        PREVIEW_BUCKET: { Ref: sourceBucket() },
      });
      expect(sid('webhook', 'StartPreviewExecutions')).toMatchObject({
        Action: 'states:StartExecution',
        Resource: { Ref: previewMachine() },
      });
      expect(sid('webhook', 'CountOpenPreviews')).toMatchObject({
        Action: 's3:ListBucket',
        Resource: { 'Fn::GetAtt': [sourceBucket(), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['previews/web/dev/*', 'previews/api/test/*'] } },
      });
      expect(resources(sid('package-source', 'WritePreviewSourceZips')).sort()).toEqual([
        `<${sourceBucket()}.Arn>/${previewSourceKey('api', 'test')}`,
        `<${sourceBucket()}.Arn>/${previewSourceKey('web', 'dev')}`,
      ]);
      const pipeline = (app: string, stage: string) =>
        `arn:<AWS::Partition>:codepipeline:<AWS::Region>:<AWS::AccountId>:${previewPipelineName(app, stage)}`;
      const previewPipelines = [pipeline('api', 'test'), pipeline('web', 'dev')];
      expect(resources(sid('start-pipeline', 'StartPreviewPipelines')).sort()).toEqual(previewPipelines);
      expect(resources(sid('check-pipeline', 'ReadPreviewPipelineExecutions')).sort()).toEqual(
        previewPipelines,
      );
    });

    it("registers the preview's revision passing only the preview stages' task and execution roles", () => {
      const pass = sid('prepare-preview', 'PassStageTaskRoles');
      expect(pass?.Action).toBe('iam:PassRole');
      expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
      expect(resources(pass).sort()).toEqual(
        [
          'stackpilot-api-test-execution',
          'stackpilot-api-test-task',
          'stackpilot-web-dev-execution',
          'stackpilot-web-dev-task',
        ].map((role) => `arn:<AWS::Partition>:iam::<AWS::AccountId>:role/${role}`),
      );
      expect(resources(sid('prepare-preview', 'TagPreviewTaskDefinitions'))).toEqual(
        expect.arrayContaining([expect.stringMatching(/:task-definition\/stackpilot-web-dev-pr-\*:\*$/)]),
      );
      for (const folder of ['deploy-preview', 'check-preview', 'record-preview', 'remove-preview'])
        expect(actions(folder), folder).not.toContain('iam:PassRole');
    });

    it("reads the stage services and changes only the preview services of the preview stages' clusters", () => {
      const stage = resources(sid('prepare-preview', 'DescribeStageServices')).sort();
      expect(stage).toEqual([
        expect.stringMatching(/:service\/stackpilot-api-test\/stackpilot-api-test$/),
        expect.stringMatching(/:service\/stackpilot-web-dev\/stackpilot-web-dev$/),
      ]);
      const previews = [
        expect.stringMatching(/:service\/stackpilot-api-test\/stackpilot-api-test-pr-\*$/),
        expect.stringMatching(/:service\/stackpilot-web-dev\/stackpilot-web-dev-pr-\*$/),
      ];
      const run = sid('deploy-preview', 'RunPreviewServices');
      expect([run?.Action].flat().sort()).toEqual([
        'ecs:CreateService',
        'ecs:TagResource',
        'ecs:UpdateService',
      ]);
      expect(resources(run).sort()).toEqual(previews);
      expect(resources(sid('remove-preview', 'DeletePreviewServices')).sort()).toEqual(previews);
      expect(resources(sid('check-preview', 'DescribePreviewServices')).sort()).toEqual(previews);
      const everything = JSON.stringify(
        [...statements].filter(([service]) => service?.includes('preview')).map(([, s]) => s),
      );
      expect(everything).not.toContain('stackpilot-web-prod');
      for (const folder of ['prepare-preview', 'check-preview', 'record-preview'])
        expect(actions(folder), folder).not.toContain('ecs:UpdateService');
      expect(actions('deploy-preview')).not.toContain('ecs:DeleteService');
    });

    it('routes through the front doors: Cloud Map and API routes for standard, target groups (of the hyperscale stages) and listener rules for hyperscale', () => {
      const targetGroup = `targetgroup/${previewNames('api', 'test', 1).targetGroup.replace(/1$/, '*')}/*`;
      expect(resources(sid('deploy-preview', 'CreatePreviewTargetGroups'))).toEqual([
        expect.stringMatching(new RegExp(`:${targetGroup.replaceAll('*', '\\*')}$`)),
      ]);
      expect(resources(sid('deploy-preview', 'CreatePreviewListenerRules'))).toEqual([
        'arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:listener/app/*/*/*',
      ]);
      expect(resources(sid('remove-preview', 'DeletePreviewRoutes'))).toContain(
        'arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:listener-rule/app/*/*/*/*',
      );
      expect(resources(sid('deploy-preview', 'AddPreviewApiRoutes'))).toEqual(
        ['integrations', 'integrations/*', 'routes', 'routes/*'].map(
          (path) => `arn:<AWS::Partition>:apigateway:<AWS::Region>::/apis/*/${path}`,
        ),
      );
      expect(sid('deploy-preview', 'AddPreviewApiRoutes')?.Action).toEqual([
        'apigateway:GET',
        'apigateway:POST',
      ]);
      expect(sid('remove-preview', 'RemovePreviewApiRoutes')?.Action).toEqual([
        'apigateway:DELETE',
        'apigateway:GET',
      ]);
      expect(actions('deploy-preview')).toContain('servicediscovery:CreateService');
      expect(actions('remove-preview')).toContain('servicediscovery:DeleteService');
      for (const folder of ['prepare-preview', 'check-preview', 'record-preview', 'expire-previews'])
        expect(
          actions(folder).filter((a) => /^(apigateway|elasticloadbalancing|servicediscovery):/.test(a)),
          folder,
        ).toEqual([]);
    });

    it("reads, writes and deletes only the preview stages' records", () => {
      const records = [
        `<${sourceBucket()}.Arn>/previews/api/test/*`,
        `<${sourceBucket()}.Arn>/previews/web/dev/*`,
      ];
      for (const folder of ['deploy-preview', 'record-preview', 'remove-preview', 'expire-previews'])
        expect(resources(sid(folder, 'ReadPreviewRecords')).sort(), folder).toEqual(records);
      for (const folder of ['deploy-preview', 'record-preview'])
        expect(resources(sid(folder, 'WritePreviewRecords')).sort(), folder).toEqual(records);
      expect(resources(sid('remove-preview', 'DeletePreviewRecords')).sort()).toEqual(records);
      for (const folder of ['prepare-preview', 'deploy-preview', 'record-preview', 'remove-preview'])
        expect(sid(folder, 'ListPreviewRecords')?.Condition, folder).toEqual({
          StringLike: { 's3:prefix': ['previews/web/dev/*', 'previews/api/test/*'] },
        });
      for (const folder of ['prepare-preview', 'check-preview', 'expire-previews'])
        expect(actions(folder), folder).not.toContain('s3:PutObject');
      expect(actions('check-preview').filter((a) => a.startsWith('s3:'))).toEqual([]);
      expect(resources(sid('prepare-preview', 'ReadStageFrontDoors')).sort()).toEqual([
        'arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/stackpilot/api/test/front-door',
        'arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/stackpilot/web/dev/front-door',
      ]);
    });

    it('passes cdk-nag AwsSolutions with every acknowledgement justified in code', () => {
      expect(synth.nagFindings).toEqual([]);
    });
  });
});

describe('previews by tier and without previews (control plane alone)', () => {
  const controlPlane = (config: StackpilotConfig) =>
    Template.fromStack(
      new ControlPlaneStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'ControlPlane', {
        config,
      }),
    );
  const allActions = (template: Template) =>
    Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => [s.Action].flat()),
    );

  it('grants only the route actions of the tiers the previews run in', () => {
    const routeActions = (scale: 'standard' | 'hyperscale') => {
      const template = controlPlane(oneStageConfig({ previews: { stage: 'dev' } }, { scale }));
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 4);
      const services = allActions(template).map((a) => a.split(':')[0] as string);
      return [...new Set(services)].filter((s) =>
        ['apigateway', 'servicediscovery', 'elasticloadbalancing'].includes(s),
      );
    };
    expect(routeActions('standard').sort()).toEqual(['apigateway', 'servicediscovery']);
    expect(routeActions('hyperscale')).toEqual(['elasticloadbalancing']);
  });

  it('has no preview workflow, and the webhook no preview settings, when no app has previews', () => {
    const template = controlPlane(oneStageConfig());
    expect(
      Object.values(template.findResources('AWS::StepFunctions::StateMachine')).map(
        (m) => m.Properties.StateMachineName,
      ),
    ).not.toContain('stackpilot-preview');
    const variables = Object.values(template.findResources('AWS::Lambda::Function')).flatMap((fn) =>
      Object.keys(fn.Properties.Environment?.Variables ?? {}),
    );
    expect(variables).not.toContain('PREVIEW_STATE_MACHINE_ARN');
    expect(variables).not.toContain('PREVIEW_BUCKET');
    const granted = allActions(template);
    expect(granted.filter((a) => /^(servicediscovery|elasticloadbalancing|apigateway):/.test(a))).toEqual([]);
    expect(template.findOutputs('PreviewStateMachineArn')).toEqual({});
  });

  it('still publishes the front door parameter of a stage without previews, with no preview pipeline', () => {
    const { template, nagFindings } = synthStage(oneStageConfig({}, { scale: 'hyperscale' }));
    expect(frontDoorOf(template, 'web', 'dev').scale).toBe('hyperscale');
    template.resourceCountIs('AWS::CodePipeline::Pipeline', 1);
    expect(nagFindings).toEqual([]);
  });
});
