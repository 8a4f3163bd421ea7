/**
 * The hourly expiry (`expirePreviews`): a removal for each preview no push has updated for its
 * app's `previews.ttlHours`, named after the record's last update so a second run within the
 * hour starts nothing new; previews still within their TTL, and apps without previews, untouched.
 * S3 and Step Functions mocked (the adapters are checked on moto and in the sandbox test).
 */

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, expect, it } from 'vitest';
import { parseConfig } from '#shared/config.ts';
import { expirePreviews, type PreviewDeps } from '#shared/preview/steps.ts';

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const NOW = Date.parse('2026-12-07T12:00:00Z');
const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:stackpilot-preview';

const config = parseConfig({
  apps: {
    web: {
      repository: { provider: 'github', url: 'https://github.com/acme/web.git' },
      previews: { stage: 'dev', ttlHours: 24 },
      stages: { dev: { branch: 'main' }, prod: { branch: 'release' } },
    },
    api: {
      repository: { provider: 'github', url: 'https://github.com/acme/api.git' },
      stages: { dev: { branch: 'main' } },
    },
  },
});

const record = (number: number, updatedAt: string) => ({
  app: 'web',
  stage: 'dev',
  number,
  commit: 'a'.repeat(40),
  image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/stackpilot/web:${'a'.repeat(40)}`,
  url: `https://api.example/pr-${number}/`,
  status: 'serving',
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt,
});
const records = [record(3, '2026-12-06T11:59:00.000Z'), record(4, '2026-12-06T13:00:00.000Z')];

const deps = (): PreviewDeps =>
  ({
    clients: { s3: new S3Client({}), sfn: new SFNClient({}) },
    now: () => new Date(NOW),
    config,
    bucket: 'sources',
  }) as unknown as PreviewDeps;

beforeEach(() => {
  s3.reset();
  sfn.reset();
  s3.on(ListObjectsV2Command, { Prefix: 'previews/web/dev/' }).resolves({
    Contents: records.map((r) => ({ Key: `previews/web/dev/pr-${r.number}.json` })),
  });
  for (const r of records) {
    s3.on(GetObjectCommand, { Key: `previews/web/dev/pr-${r.number}.json` }).resolves({
      Body: { transformToString: async () => JSON.stringify(r) } as never,
    });
  }
  sfn.on(StartExecutionCommand).callsFake((input) => ({
    executionArn: `${ARN.replace(':stateMachine:', ':execution:')}:${input.name}`,
  }));
});

it('starts the removal of each preview older than ttlHours, and only those', async () => {
  const expired = await expirePreviews(ARN, deps());
  expect(expired).toEqual([
    {
      app: 'web',
      stage: 'dev',
      number: 3,
      updatedAt: '2026-12-06T11:59:00.000Z',
      executionArn: `${ARN.replace(':stateMachine:', ':execution:')}:web-dev-pr-3-expired-20261206115900`,
    },
  ]);
  const starts = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
  expect(starts).toHaveLength(1);
  expect(starts[0]?.name).toBe('web-dev-pr-3-expired-20261206115900');
  expect(JSON.parse(starts[0]?.input ?? '{}')).toEqual({
    app: 'web',
    stage: 'dev',
    number: 3,
    action: 'remove',
    reason: 'expired',
  });
  // Apps without previews are not even listed.
  expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix)).toEqual([
    'previews/web/dev/',
  ]);
});

it('a second run in the same hour starts nothing new (the execution already exists)', async () => {
  sfn
    .on(StartExecutionCommand)
    .rejects(Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' }));
  const expired = await expirePreviews(ARN, deps());
  expect(expired.map((e) => e.number)).toEqual([3]);
  expect(expired[0]?.executionArn).toMatch(
    /:execution:stackpilot-preview:web-dev-pr-3-expired-20261206115900$/,
  );
});
