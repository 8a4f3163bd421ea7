/**
 * Emulated CodePipeline (V2, QUEUED): one pipeline per stage with three stages run over
 * emulated time. Source reads the pinned S3 object version; Build checks the zip for a
 * Dockerfile or a `build.yml` and "pushes" the image `<registry>/stackpilot/<app>:<commit>`
 * to the emulated ECR; Release hands the image to the sandbox's release hook (the release
 * state machine) and completes when that execution ends.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  type ActionExecutionDetail,
  type GetPipelineCommandInput,
  type GetPipelineCommandOutput,
  type GetPipelineExecutionCommandInput,
  type GetPipelineExecutionCommandOutput,
  type GetPipelineStateCommandInput,
  type GetPipelineStateCommandOutput,
  type ListActionExecutionsCommandInput,
  type ListActionExecutionsCommandOutput,
  type ListPipelineExecutionsCommandInput,
  type ListPipelineExecutionsCommandOutput,
  type ListPipelinesCommandOutput,
  PipelineExecutionNotFoundException,
  PipelineNotFoundException,
  type StartPipelineExecutionCommandInput,
  type StartPipelineExecutionCommandOutput,
  ValidationException,
} from '@aws-sdk/client-codepipeline';
import { stateMachineName } from '#shared/naming.ts';
import { emulateBuild } from './codebuild.ts';
import type { EcrEmulator } from './ecr.ts';
import { awsError } from './errors.ts';
import type { S3Emulator } from './s3.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

/** How long the Source action takes. */
export const SOURCE_MS = 5_000;
/** How long the Build action takes (a docker build and push). */
export const BUILD_MS = 60_000;

/**
 * What the pipeline's last stage asks of the sandbox: run the state machine its Step Functions
 * action names (`release` for a stage's pipeline, `preview` for the preview pipeline) with the
 * action's input, its `#{…}` variables resolved as CodePipeline resolves them.
 */
export interface ReleaseRequest {
  app: string;
  stage: string;
  image: string;
  commit: string;
  pipelineExecutionId: string;
  /** The state machine's name, e.g. `stackpilot-release`. */
  stateMachine: string;
  /** The action's input with its variables resolved. */
  input: unknown;
}

/** How the release execution ended. */
export interface ReleaseOutcome {
  status: 'SUCCEEDED' | 'FAILED';
  executionArn?: string;
  error?: string;
  cause?: string;
}

export type ReleaseHook = (request: ReleaseRequest) => Promise<ReleaseOutcome>;

type StageName = 'Source' | 'Build' | 'Release';

/** The variables the stage pipelines declare (infra/constructs/stage-pipeline.ts). */
export const PIPELINE_VARIABLES = ['COMMIT', 'DELIVERY_ID'];

interface ActionRecord {
  id: string;
  stageName: StageName;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: number;
  lastUpdateTime: number;
  dueAt: number;
  summary?: string;
  externalExecutionId?: string;
  outputVariables?: Record<string, string>;
  error?: { code: string; message: string };
}

interface ExecutionRecord {
  id: string;
  /** Start order (several executions can start in the same millisecond). */
  seq: number;
  pipelineName: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  statusSummary?: string;
  startTime: number;
  lastUpdateTime: number;
  clientRequestToken?: string;
  variables: Record<string, string>;
  sourceVersionId?: string;
  commit?: string;
  image?: string;
  actions: ActionRecord[];
  releaseOutcome?: ReleaseOutcome;
}

interface PipelineRecord {
  app: string;
  stage: string;
  bucket: string;
  key: string;
  createdAt: number;
  /** QUEUED/SUPERSEDED run one execution at a time here; PARALLEL runs them all at once. @default QUEUED */
  executionMode?: 'QUEUED' | 'SUPERSEDED' | 'PARALLEL';
  /** The pipeline's variables and their defaults. @default PIPELINE_VARIABLES, no defaults */
  variables?: Record<string, string>;
  /** The Step Functions action: the state machine's name and its input with `#{…}` variables. */
  invoke?: { stateMachine: string; input: string };
  /** The ECR repository the Build action pushes to: `ECR_REPOSITORY` of the action's environment, else of its CodeBuild project's. */
  repository: string;
}

interface CodePipelineState {
  pipelines: Record<string, PipelineRecord>;
  executions: Record<string, ExecutionRecord>;
}

const ACTION_TYPES = {
  Source: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' },
  Build: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
  Release: { category: 'Invoke', owner: 'AWS', provider: 'StepFunctions', version: '1' },
} as const;

export class CodePipelineEmulator implements Emulator {
  readonly service = 'CodePipeline';
  private readonly file: JsonFile<CodePipelineState>;
  /** Release hooks running in this process (after a restart, an unfinished release is asked again). */
  private readonly releasing = new Set<string>();

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
    private readonly s3: S3Emulator,
    private readonly ecr: EcrEmulator,
    private readonly releaseHook: () => ReleaseHook | undefined,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'codepipeline.json'), () => ({
      pipelines: {},
      executions: {},
    }));
  }

  save(): void {
    this.file.save();
  }

  /** Creates the pipeline, or updates it to the template's definition (as a stack update does), keeping its creation time. */
  ensurePipeline(name: string, spec: Omit<PipelineRecord, 'createdAt'>): void {
    const createdAt = this.file.value.pipelines[name]?.createdAt ?? this.ctx.clock.now();
    this.file.value.pipelines[name] = { ...spec, createdAt };
  }

  /** The last execution of a pipeline, as `GET /stages` shows it. */
  lastExecution(pipelineName: string) {
    const execution = this.executionsOf(pipelineName)[0];
    if (!execution) return undefined;
    const failed = execution.actions.find((a) => a.status === 'Failed');
    return {
      pipelineExecutionId: execution.id,
      status: execution.status,
      startTime: new Date(execution.startTime).toISOString(),
      commit: execution.commit ?? execution.variables.COMMIT ?? execution.variables.commit,
      image: execution.image,
      stage: execution.actions.at(-1)?.stageName,
      ...(failed && { failedStage: failed.stageName, summary: failed.error?.message }),
    };
  }

  step(t: number): void {
    for (const [name, pipeline] of Object.entries(this.file.value.pipelines)) {
      const running = this.executionsOf(name).filter((e) => e.status === 'InProgress');
      // PARALLEL: every execution runs; otherwise one at a time per pipeline, in start order.
      for (const execution of pipeline.executionMode === 'PARALLEL' ? running : running.slice(-1))
        this.advance(execution, t);
    }
  }

  readonly commands = {
    ListPipelines: (): Result<ListPipelinesCommandOutput> => ({
      pipelines: Object.entries(this.file.value.pipelines).map(([name, p]) => ({
        name,
        version: 1,
        pipelineType: 'V2',
        executionMode: 'QUEUED',
        created: new Date(p.createdAt),
        updated: new Date(p.createdAt),
      })),
    }),
    GetPipeline: (input: GetPipelineCommandInput): Result<GetPipelineCommandOutput> => {
      const name = input.name ?? '';
      const pipeline = this.pipeline(name);
      const action = (stageName: StageName, configuration: Record<string, string>) => ({
        name: stageName,
        stageName,
        actions: [{ name: stageName, actionTypeId: ACTION_TYPES[stageName], runOrder: 1, configuration }],
      });
      return {
        pipeline: {
          name,
          version: 1,
          pipelineType: 'V2',
          executionMode: pipeline.executionMode ?? 'QUEUED',
          roleArn: `arn:aws:iam::${this.ctx.accountId}:role/${name}-pipeline`,
          artifactStore: { type: 'S3', location: pipeline.bucket },
          stages: [
            action('Source', {
              S3Bucket: pipeline.bucket,
              S3ObjectKey: pipeline.key,
              PollForSourceChanges: 'false',
            }),
            action('Build', { ProjectName: name }),
            action('Release', {
              StateMachineArn: `arn:aws:states:${this.ctx.region}:${this.ctx.accountId}:stateMachine:${pipeline.invoke?.stateMachine ?? stateMachineName('release')}`,
              ...(pipeline.invoke && { Input: pipeline.invoke.input }),
            }),
          ],
          variables: pipeline.variables
            ? Object.entries(pipeline.variables).map(([name, defaultValue]) => ({ name, defaultValue }))
            : PIPELINE_VARIABLES.map((variable) => ({ name: variable })),
        },
        metadata: {
          pipelineArn: this.pipelineArn(name),
          created: new Date(pipeline.createdAt),
          updated: new Date(pipeline.createdAt),
        },
      };
    },
    StartPipelineExecution: (
      input: StartPipelineExecutionCommandInput,
    ): Result<StartPipelineExecutionCommandOutput> => {
      const name = input.name ?? '';
      this.pipeline(name);
      if (input.clientRequestToken) {
        const same = this.executionsOf(name).find((e) => e.clientRequestToken === input.clientRequestToken);
        if (same) return { pipelineExecutionId: same.id };
      }
      let sourceVersionId: string | undefined;
      const declared = Object.keys(this.pipeline(name).variables ?? {});
      for (const variable of input.variables ?? []) {
        if (!(declared.length > 0 ? declared : PIPELINE_VARIABLES).includes(variable.name ?? '')) {
          throw awsError(
            ValidationException,
            `Pipeline variable ${variable.name} is not declared in pipeline ${name}.`,
          );
        }
      }
      for (const revision of input.sourceRevisions ?? []) {
        if (revision.actionName !== 'Source') {
          throw awsError(
            ValidationException,
            `Action ${revision.actionName} is not a source action of pipeline ${name}.`,
          );
        }
        if (revision.revisionType !== 'S3_OBJECT_VERSION_ID') {
          throw awsError(
            ValidationException,
            `Source revision type ${revision.revisionType} is not valid for the S3 source action of pipeline ${name}.`,
          );
        }
        sourceVersionId = revision.revisionValue;
      }
      const t = this.ctx.clock.now();
      const execution: ExecutionRecord = {
        id: randomUUID(),
        seq: Object.keys(this.file.value.executions).length + 1,
        pipelineName: name,
        status: 'InProgress',
        startTime: t,
        lastUpdateTime: t,
        variables: {
          ...this.pipeline(name).variables,
          ...Object.fromEntries((input.variables ?? []).map((v) => [v.name ?? '', v.value ?? ''])),
        },
        actions: [],
        ...(input.clientRequestToken && { clientRequestToken: input.clientRequestToken }),
        ...(sourceVersionId && { sourceVersionId }),
      };
      this.file.value.executions[execution.id] = execution;
      this.executionEvent(execution, 'STARTED', t);
      return { pipelineExecutionId: execution.id };
    },
    GetPipelineExecution: (
      input: GetPipelineExecutionCommandInput,
    ): Result<GetPipelineExecutionCommandOutput> => {
      const execution = this.execution(input.pipelineName, input.pipelineExecutionId);
      return {
        pipelineExecution: {
          pipelineName: execution.pipelineName,
          pipelineVersion: 1,
          pipelineExecutionId: execution.id,
          status: execution.status,
          ...(execution.statusSummary && { statusSummary: execution.statusSummary }),
          artifactRevisions: execution.sourceVersionId
            ? [
                {
                  name: 'SourceArtifact',
                  revisionId: execution.sourceVersionId,
                  ...(execution.commit && { revisionSummary: `commit ${execution.commit}` }),
                },
              ]
            : [],
          variables: Object.entries(execution.variables).map(([name, resolvedValue]) => ({
            name,
            resolvedValue,
          })),
          trigger: {
            triggerType: 'StartPipelineExecution',
            triggerDetail: `arn:aws:sts::${this.ctx.accountId}:assumed-role/stackpilot-sandbox`,
          },
          executionMode: 'QUEUED',
          executionType: 'STANDARD',
        },
      };
    },
    ListPipelineExecutions: (
      input: ListPipelineExecutionsCommandInput,
    ): Result<ListPipelineExecutionsCommandOutput> => {
      this.pipeline(input.pipelineName ?? '');
      return {
        pipelineExecutionSummaries: this.executionsOf(input.pipelineName ?? '')
          .slice(0, input.maxResults ?? 100)
          .map((e) => ({
            pipelineExecutionId: e.id,
            status: e.status,
            ...(e.statusSummary && { statusSummary: e.statusSummary }),
            startTime: new Date(e.startTime),
            lastUpdateTime: new Date(e.lastUpdateTime),
            sourceRevisions: e.sourceVersionId
              ? [{ actionName: 'Source', revisionId: e.sourceVersionId }]
              : [],
            trigger: { triggerType: 'StartPipelineExecution' },
            executionMode: 'QUEUED',
          })),
      };
    },
    ListActionExecutions: (
      input: ListActionExecutionsCommandInput,
    ): Result<ListActionExecutionsCommandOutput> => {
      this.pipeline(input.pipelineName ?? '');
      const wanted = input.filter?.pipelineExecutionId;
      const executions = this.executionsOf(input.pipelineName ?? '').filter(
        (e) => !wanted || e.id === wanted,
      );
      if (wanted && executions.length === 0) this.execution(input.pipelineName, wanted);
      return {
        actionExecutionDetails: executions.flatMap((e) =>
          [...e.actions].reverse().map((a) => this.actionOutput(e, a)),
        ),
      };
    },
    GetPipelineState: (input: GetPipelineStateCommandInput): Result<GetPipelineStateCommandOutput> => {
      const name = input.name ?? '';
      const pipeline = this.pipeline(name);
      const latest = (stageName: StageName) =>
        this.executionsOf(name)
          .flatMap((e) => e.actions.filter((a) => a.stageName === stageName).map((a) => ({ e, a })))
          .sort((x, y) => y.a.startTime - x.a.startTime)[0];
      return {
        pipelineName: name,
        pipelineVersion: 1,
        created: new Date(pipeline.createdAt),
        updated: new Date(pipeline.createdAt),
        stageStates: (['Source', 'Build', 'Release'] as const).map((stageName) => {
          const found = latest(stageName);
          return {
            stageName,
            ...(found && { latestExecution: { pipelineExecutionId: found.e.id, status: found.a.status } }),
            actionStates: [
              {
                actionName: stageName,
                ...(found && {
                  latestExecution: {
                    actionExecutionId: found.a.id,
                    status: found.a.status,
                    lastStatusChange: new Date(found.a.lastUpdateTime),
                    ...(found.a.summary && { summary: found.a.summary }),
                    ...(found.a.externalExecutionId && { externalExecutionId: found.a.externalExecutionId }),
                    ...(found.a.error && { errorDetails: found.a.error }),
                  },
                }),
              },
            ],
          };
        }),
      };
    },
  };

  private advance(execution: ExecutionRecord, t: number): void {
    const action = execution.actions.at(-1);
    if (!action) {
      this.startAction(execution, 'Source', t, SOURCE_MS);
      return;
    }
    if (action.status !== 'InProgress') return;
    if (action.stageName === 'Release') {
      this.release(execution, action, t);
      return;
    }
    if (action.dueAt > t) return;
    if (action.stageName === 'Source') this.source(execution, action, t);
    else this.build(execution, action, t);
  }

  private source(execution: ExecutionRecord, action: ActionRecord, t: number): void {
    const pipeline = this.pipeline(execution.pipelineName);
    const found = this.s3.locate(pipeline.bucket, pipeline.key, execution.sourceVersionId);
    if (!found) {
      const version = execution.sourceVersionId ? ` version ${execution.sourceVersionId}` : '';
      this.fail(
        execution,
        action,
        t,
        'InvalidObject',
        `The object s3://${pipeline.bucket}/${pipeline.key}${version} does not exist.`,
      );
      return;
    }
    execution.sourceVersionId = found.version.versionId;
    this.succeed(
      execution,
      action,
      t,
      `Amazon S3 version id: ${found.version.versionId}`,
      found.version.versionId,
    );
    this.startAction(execution, 'Build', t, BUILD_MS);
  }

  private build(execution: ExecutionRecord, action: ActionRecord, t: number): void {
    const pipeline = this.pipeline(execution.pipelineName);
    const found = this.s3.locate(pipeline.bucket, pipeline.key, execution.sourceVersionId);
    if (!found) {
      const message = `Build failed: the source object version ${execution.sourceVersionId} is gone.`;
      this.fail(execution, action, t, 'JobFailed', message);
      return;
    }
    const appConfig = this.ctx.config.apps[pipeline.app];
    const result = emulateBuild(
      found.path,
      appConfig?.dockerfilePath ?? 'Dockerfile',
      execution.variables,
      appConfig?.path,
    );
    if (!result.ok) {
      this.fail(execution, action, t, 'JobFailed', result.message);
      return;
    }
    const { commit } = result;
    const { repository } = pipeline;
    let image: string;
    try {
      image = this.ecr.pushImage(repository, commit, `${pipeline.app}:${commit}:${found.version.etag}`);
    } catch (error) {
      // What `docker push` prints when the repository is missing: the build fails, nothing is released.
      const message = `Build failed: docker push ${repository}: name unknown: ${(error as Error).message}.`;
      this.fail(execution, action, t, 'JobFailed', message);
      return;
    }
    execution.commit = commit;
    execution.image = image;
    const summary = `Built ${image} with ${result.how}.`;
    this.succeed(execution, action, t, summary, `${execution.pipelineName}:${action.id}`, {
      IMAGE_URI: image,
      COMMIT: commit,
    });
    this.startAction(execution, 'Release', t, 0);
  }

  private release(execution: ExecutionRecord, action: ActionRecord, t: number): void {
    const outcome = execution.releaseOutcome;
    if (outcome) {
      if (outcome.status === 'SUCCEEDED') {
        this.succeed(
          execution,
          action,
          t,
          `Release execution ${outcome.executionArn ?? ''} succeeded.`,
          outcome.executionArn,
        );
      } else {
        const why =
          [outcome.error, outcome.cause].filter(Boolean).join(': ') || 'the release execution failed';
        this.fail(execution, action, t, 'JobFailed', `Release failed: ${why}`);
      }
      return;
    }
    if (this.releasing.has(execution.id)) return;
    const hook = this.releaseHook();
    const pipeline = this.pipeline(execution.pipelineName);
    if (!hook) {
      this.fail(
        execution,
        action,
        t,
        'JobFailed',
        'Release failed: the sandbox has no release hook to run the release state machine.',
      );
      return;
    }
    const request = {
      app: pipeline.app,
      stage: pipeline.stage,
      image: execution.image ?? '',
      commit: execution.commit ?? '',
      pipelineExecutionId: execution.id,
    };
    let invoke: { stateMachine: string; input: unknown };
    try {
      invoke = this.invocation(pipeline, execution, request);
    } catch (error) {
      this.fail(execution, action, t, 'JobFailed', `Release failed: ${(error as Error).message}`);
      return;
    }
    this.releasing.add(execution.id);
    hook({ ...request, ...invoke })
      .then(
        (result) => {
          execution.releaseOutcome = result;
        },
        (error: Error) => {
          execution.releaseOutcome = { status: 'FAILED', error: error.name, cause: error.message };
        },
      )
      .finally(() => this.releasing.delete(execution.id));
  }

  /**
   * The state machine and input of the pipeline's Step Functions action, its `#{variables.X}`
   * and `#{Build.X}` resolved from the execution. A pipeline recorded before the sandbox read
   * the action from the template releases `{app, stage, image, commit}`.
   */
  private invocation(
    pipeline: PipelineRecord,
    execution: ExecutionRecord,
    built: { app: string; stage: string; image: string; commit: string },
  ): { stateMachine: string; input: unknown } {
    if (!pipeline.invoke) {
      const { app, stage, image, commit } = built;
      return { stateMachine: stateMachineName('release'), input: { app, stage, image, commit } };
    }
    const outputs = execution.actions.find((a) => a.stageName === 'Build')?.outputVariables ?? {};
    const resolved = pipeline.invoke.input.replaceAll(
      /#\{([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\}/g,
      (all, ns, name) => {
        const value = ns === 'variables' ? execution.variables[name] : outputs[name];
        if (value === undefined)
          throw new Error(`the action's input names ${all}, which the execution does not have`);
        // The input is JSON: a value goes in as the text of a JSON string.
        return JSON.stringify(value).slice(1, -1);
      },
    );
    return { stateMachine: pipeline.invoke.stateMachine, input: JSON.parse(resolved) };
  }

  private startAction(execution: ExecutionRecord, stageName: StageName, t: number, duration: number): void {
    execution.actions.push({
      id: randomUUID(),
      stageName,
      status: 'InProgress',
      startTime: t,
      lastUpdateTime: t,
      dueAt: t + duration,
    });
    execution.lastUpdateTime = t;
  }

  private succeed(
    execution: ExecutionRecord,
    action: ActionRecord,
    t: number,
    summary: string,
    externalExecutionId?: string,
    outputVariables?: Record<string, string>,
  ): void {
    Object.assign(action, {
      status: 'Succeeded',
      lastUpdateTime: t,
      summary,
      ...(externalExecutionId && { externalExecutionId }),
      ...(outputVariables && { outputVariables }),
    });
    execution.lastUpdateTime = t;
    if (action.stageName === 'Release') {
      execution.status = 'Succeeded';
      this.executionEvent(execution, 'SUCCEEDED', t);
    }
  }

  private fail(
    execution: ExecutionRecord,
    action: ActionRecord,
    t: number,
    code: string,
    message: string,
  ): void {
    Object.assign(action, {
      status: 'Failed',
      lastUpdateTime: t,
      summary: message,
      error: { code, message },
    });
    execution.status = 'Failed';
    execution.statusSummary = `${action.stageName} stage failed: ${message}`;
    execution.lastUpdateTime = t;
    this.executionEvent(execution, 'FAILED', t);
  }

  private executionEvent(
    execution: ExecutionRecord,
    state: 'STARTED' | 'SUCCEEDED' | 'FAILED',
    t: number,
  ): void {
    this.ctx.emit(
      'CodePipeline Pipeline Execution State Change',
      'aws.codepipeline',
      [this.pipelineArn(execution.pipelineName)],
      {
        pipeline: execution.pipelineName,
        'execution-id': execution.id,
        'start-time': new Date(execution.startTime).toISOString(),
        state,
        version: 1,
        'pipeline-execution-attempt': 1,
        'execution-trigger': {
          'trigger-type': 'StartPipelineExecution',
          'trigger-detail': `arn:aws:sts::${this.ctx.accountId}:assumed-role/stackpilot-sandbox`,
        },
        ...(state === 'FAILED' && execution.statusSummary && { 'failure-summary': execution.statusSummary }),
        ...(state !== 'STARTED' && { 'end-time': new Date(t).toISOString() }),
      },
    );
  }

  private actionOutput(execution: ExecutionRecord, a: ActionRecord): ActionExecutionDetail {
    return {
      pipelineExecutionId: execution.id,
      actionExecutionId: a.id,
      pipelineVersion: 1,
      stageName: a.stageName,
      actionName: a.stageName,
      startTime: new Date(a.startTime),
      lastUpdateTime: new Date(a.lastUpdateTime),
      status: a.status,
      input: { actionTypeId: ACTION_TYPES[a.stageName] },
      output: {
        executionResult: {
          ...(a.externalExecutionId && { externalExecutionId: a.externalExecutionId }),
          ...(a.summary && { externalExecutionSummary: a.summary }),
          ...(a.error && { errorDetails: a.error }),
        },
        ...(a.outputVariables && { outputVariables: a.outputVariables }),
      },
    };
  }

  private pipelineArn(name: string): string {
    return `arn:aws:codepipeline:${this.ctx.region}:${this.ctx.accountId}:${name}`;
  }

  private pipeline(name: string): PipelineRecord {
    const pipeline = this.file.value.pipelines[name];
    if (!pipeline) {
      throw awsError(
        PipelineNotFoundException,
        `Account '${this.ctx.accountId}' does not have a pipeline with name '${name}'`,
      );
    }
    return pipeline;
  }

  /** Newest first. */
  private executionsOf(pipelineName: string): ExecutionRecord[] {
    return Object.values(this.file.value.executions)
      .filter((e) => e.pipelineName === pipelineName)
      .sort((a, b) => b.seq - a.seq);
  }

  private execution(pipelineName: string | undefined, id: string | undefined): ExecutionRecord {
    this.pipeline(pipelineName ?? '');
    const execution = this.file.value.executions[id ?? ''];
    if (!execution || execution.pipelineName !== pipelineName) {
      throw awsError(
        PipelineExecutionNotFoundException,
        `Pipeline execution with id '${id}' does not exist in pipeline with name '${pipelineName}'`,
      );
    }
    return execution;
  }
}
