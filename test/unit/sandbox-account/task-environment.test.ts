/** The resolved environment of a stage, as the sandbox shows it: secret values masked. */
import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { MemoryLogSink } from '../../../sandbox/tasks/logs.ts';
import { MASKED, TaskSupervisor } from '../../../sandbox/tasks/supervisor.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount } from './support.ts';

const names = stageNames('shop', 'dev');

describe("a stage's resolved environment", () => {
  let dataDir: string;
  let setup: Awaited<ReturnType<typeof testAccount>>;
  let supervisor: TaskSupervisor;

  beforeEach(async () => {
    dataDir = newDataDir();
    setup = await testAccount({ dataDir });
    supervisor = new TaskSupervisor({
      account: setup.account,
      dataDir,
      timeScale: 60,
      log: () => undefined,
      logSink: new MemoryLogSink(),
    });
  });

  afterEach(async () => {
    await supervisor.close();
    removeDataDir(dataDir);
  });

  it("lists the running revision's variables and its secrets by name, never their values", async () => {
    const secretArn = setup.account.secretsManager.arn('shop/db');
    setup.account.secretsManager.put('shop/db', 'hunter2');
    const ecs = new ECSClient(clientConfig);
    setup.account.attach({ ecs });
    const current = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: names.taskFamily }));
    const {
      taskDefinitionArn,
      revision,
      status,
      registeredAt,
      registeredBy,
      compatibilities,
      requiresAttributes,
      ...rest
    } = current.taskDefinition ?? {};
    const input = {
      ...rest,
      containerDefinitions: rest.containerDefinitions?.map((c) => ({
        ...c,
        environment: [...(c.environment ?? []), { name: 'GREETING', value: 'hi' }],
        secrets: [{ name: 'DB_PASSWORD', valueFrom: `${secretArn}:password::` }],
      })),
    } as RegisterTaskDefinitionCommandInput;
    const arn = (await ecs.send(new RegisterTaskDefinitionCommand(input))).taskDefinition?.taskDefinitionArn;
    await ecs.send(
      new UpdateServiceCommand({ cluster: names.cluster, service: names.service, taskDefinition: arn }),
    );

    const view = supervisor.environment('shop', 'dev');
    expect(view).toContainEqual({ name: 'GREETING', value: 'hi', from: 'environment' });
    expect(view).toContainEqual({ name: 'DB_PASSWORD', value: MASKED, from: 'secret' });
    expect(JSON.stringify(view)).not.toContain('hunter2');
  });
});
