import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    // Integration tests start loopback servers and child processes; CDK synth is CPU-heavy.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    env: {
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/aws/**'] },
      },
      {
        // The AWS conformance suite: the production adapters against moto_server (`npm run test:aws`).
        extends: true,
        test: {
          name: 'aws',
          include: ['test/aws/**/*.test.ts'],
          globalSetup: ['test/aws/global-setup.ts'],
        },
      },
    ],
  },
});
