import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { DEPLOY_DEFINITION_PATH, DeployWorkflow } from '../../infra/constructs/deploy-workflow.ts';
import { TaskCallbacks } from '../../infra/constructs/task-callbacks.ts';
import { parseConfig } from '../../shared/config.ts';
import { loadConfigFile } from '../../shared/config-file.ts';

/** The policy statements of the role whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string) {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[]);
}

const pipelineArn = (name: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':codepipeline:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:${name}`,
    ],
  ],
});

describe('deploy workflow in the control-plane stack', () => {
  let template: Template;
  let nagFindings: string[];
  beforeAll(() => {
    // The whole app from the example stackpilot.yml, checked by cdk-nag as in support.ts. Bundling
    // the functions changes nothing asserted here (the full synth test bundles them), so it is skipped.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const { controlPlane } = buildApp(loadConfigFile('stackpilot.yml'), app);
    template = Template.fromStack(controlPlane);
    nagFindings = new AwsSolutionsChecks(app)
      .validateScope(app)
      .violations.filter((v) => v.violatingResources.some((r) => r.constructPath?.includes('/Deploy/')))
      .map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
  }, 180_000);

  it('creates the deploy state machine by name from its ASL file, logging everything, traced', () => {
    const [machine] = Object.values(
      template.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: 'stackpilot-deploy' },
      }),
    );
    expect(machine?.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      DefinitionString: readFileSync(DEPLOY_DEFINITION_PATH, 'utf8'),
      DefinitionSubstitutions: {
        PackageSourceFunctionArn: { 'Fn::GetAtt': [expect.stringMatching(/^DeployPackageSource/), 'Arn'] },
        StartPipelineFunctionArn: { 'Fn::GetAtt': [expect.stringMatching(/^DeployStartPipeline/), 'Arn'] },
        CheckPipelineFunctionArn: { 'Fn::GetAtt': [expect.stringMatching(/^DeployCheckPipeline/), 'Arn'] },
      },
    });
  });

  it('lets the state machine invoke exactly its three functions and the await function, unqualified', () => {
    expect(statementsOf(template, 'DeployStateMachineRole')).toContainEqual({
      Sid: 'InvokeDeployTasks',
      Effect: 'Allow',
      Action: 'lambda:InvokeFunction',
      Resource: [
        { 'Fn::GetAtt': [expect.stringMatching(/^DeployPackageSource/), 'Arn'] },
        { 'Fn::GetAtt': [expect.stringMatching(/^DeployStartPipeline/), 'Arn'] },
        { 'Fn::GetAtt': [expect.stringMatching(/^DeployCheckPipeline/), 'Arn'] },
        { 'Fn::GetAtt': [expect.stringMatching(/^CallbacksAwaitEvent/), 'Arn'] },
      ],
    });
  });

  it('sizes Package Source for cloning and zipping: one vCPU, 15 minutes, 2 GiB of /tmp', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1769,
      Timeout: 900,
      EphemeralStorage: { Size: 2048 },
      Environment: {
        Variables: Match.objectLike({
          SOURCE_BUCKET: { Ref: Match.stringLikeRegexp('^Sources') },
          STACKPILOT_CONFIG_FILE: 'stackpilot-config.json',
        }),
      },
    });
  });

  it('lets Package Source write only the configured stages’ source zips', () => {
    const objectArn = (key: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Sources/), 'Arn'] }, `/${key}`]],
    });
    expect(statementsOf(template, 'DeployPackageSourceRole')).toContainEqual({
      Sid: 'WriteStageSourceZips',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
      Resource: [objectArn('sources/starter/dev/source.zip'), objectArn('sources/starter/prod/source.zip')],
    });
  });

  it('lets Start Pipeline and Check Pipeline touch only the configured stages’ pipelines', () => {
    const pipelines = [pipelineArn('stackpilot-starter-dev'), pipelineArn('stackpilot-starter-prod')];
    expect(statementsOf(template, 'DeployStartPipelineRole')).toContainEqual(
      expect.objectContaining({ Action: 'codepipeline:StartPipelineExecution', Resource: pipelines }),
    );
    expect(statementsOf(template, 'DeployCheckPipelineRole')).toContainEqual(
      expect.objectContaining({
        Action: ['codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions'],
        Resource: pipelines,
      }),
    );
  });

  it('gives the webhook its state machine, secrets and configuration, and lets it start only deploy and preview executions', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          DEPLOY_STATE_MACHINE_ARN: { Ref: Match.stringLikeRegexp('^DeployStateMachine') },
          GITHUB_WEBHOOK_SECRET_ARN: { Ref: Match.stringLikeRegexp('^GithubWebhookSecret') },
          GITLAB_WEBHOOK_TOKEN_ARN: { Ref: Match.stringLikeRegexp('^GitlabWebhookToken') },
          STACKPILOT_CONFIG_FILE: 'stackpilot-config.json',
        }),
      },
    });
    const statements = statementsOf(template, 'DeployWebhookRole');
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: { Ref: expect.stringMatching(/^DeployStateMachine/) },
      }),
    );
    // The example app has previews: pull request events start the preview state machine (removals).
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: { Ref: expect.stringMatching(/^PreviewStateMachine/) },
      }),
    );
    expect(statements.filter((s) => String(s.Action).startsWith('states:'))).toHaveLength(2);
  });

  it('gives the functions roles without managed policies, writing only to their own log groups', () => {
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
        }),
      },
    });
    const deployRoles = Object.entries(roles).filter(([id]) => id.startsWith('Deploy'));
    expect(deployRoles).toHaveLength(4);
    for (const [id, role] of deployRoles) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(statementsOf(template, id)).toContainEqual(
        expect.objectContaining({
          Sid: 'WriteOwnLogs',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        }),
      );
    }
  });

  it('routes POST /webhooks/github and /webhooks/gitlab to the webhook, throttled and access-logged', () => {
    for (const routeKey of ['POST /webhooks/github', 'POST /webhooks/gitlab']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey });
    }
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeployWebhook'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeployWebhookApiAccessLogs'), 'Arn'] },
        Format: Match.anyValue(),
      },
    });
  });

  it('outputs the webhook URLs, the secrets to paste at GitHub and GitLab, and the state machine', () => {
    const outputs = template.findOutputs('*');
    expect(JSON.stringify(outputs.GithubWebhookUrl?.Value)).toMatch(
      /execute-api.*\/webhooks\/github"\]\]\}$/,
    );
    expect(JSON.stringify(outputs.GitlabWebhookUrl?.Value)).toMatch(
      /execute-api.*\/webhooks\/gitlab"\]\]\}$/,
    );
    expect(outputs.GithubWebhookSecretArn?.Value).toEqual({
      Ref: expect.stringMatching(/^GithubWebhookSecret/),
    });
    expect(outputs.GitlabWebhookTokenArn?.Value).toEqual({
      Ref: expect.stringMatching(/^GitlabWebhookToken/),
    });
    expect(outputs.DeployStateMachineArn?.Value).toEqual({
      Ref: expect.stringMatching(/^DeployStateMachine/),
    });
  });

  it('leaves no cdk-nag finding unacknowledged', () => {
    expect(nagFindings).toEqual([]);
  });
});

describe('deploy workflow options', () => {
  let template: Template;
  beforeAll(() => {
    // Bundling is irrelevant to these assertions; skipping it keeps the test fast.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Test', { env: { account: '111122223333', region: 'eu-west-1' } });
    const config = parseConfig({
      apps: {
        api: {
          repository: {
            provider: 'gitlab',
            url: 'https://gitlab.example.com/acme/api.git',
            tokenSecret: 'stackpilot/api-token',
          },
          stages: { prod: { branch: 'main' } },
        },
        web: {
          repository: {
            provider: 'github',
            url: 'https://github.com/acme/web.git',
            tokenSecret: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:web-token-AbCdEf',
          },
          stages: { prod: { branch: 'main' } },
        },
      },
    });
    const sourceBucket = new s3.Bucket(stack, 'Sources', { versioned: true });
    new DeployWorkflow(stack, 'Deploy', {
      config,
      sourceBucket,
      awaitEventFunction: new TaskCallbacks(stack, 'Callbacks', { bucket: sourceBucket }).awaitFunction,
      githubWebhookSecret: new secretsmanager.Secret(stack, 'GithubSecret'),
      gitlabWebhookToken: new secretsmanager.Secret(stack, 'GitlabToken'),
      pipelineTimeoutMinutes: 90,
      webhookRateLimit: 4,
    });
    template = Template.fromStack(stack);
  });

  it('lets Package Source read the repository token secrets named in stackpilot.yml, by name or ARN', () => {
    expect(statementsOf(template, 'DeployPackageSourceRole')).toContainEqual({
      Sid: 'ReadRepositoryTokens',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: [
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':secretsmanager:eu-west-1:111122223333:secret:stackpilot/api-token-??????',
            ],
          ],
        },
        'arn:aws:secretsmanager:eu-west-1:111122223333:secret:web-token-AbCdEf',
        'arn:aws:secretsmanager:eu-west-1:111122223333:secret:web-token-AbCdEf-??????',
      ],
    });
  });

  it('passes the pipeline wait limit to Check Pipeline and the rate limit to the API stage', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PIPELINE_TIMEOUT_MINUTES: '90' }) },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 4, ThrottlingBurstLimit: 8 },
    });
  });
});
