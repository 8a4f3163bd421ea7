/**
 * The AWS conformance suite's global setup: one moto_server for the run (each test file works
 * in its own moto account), stopped by its pid at the end, then the summary of what was
 * checked. Without moto the suite is skipped with one line saying how to get it; with
 * `CI=true` a missing moto fails the run.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { appTemplates, SHARED_TEMPLATE_CACHE } from '../../sandbox/templates/synth.ts';
import { loadConfigFile } from '../../shared/config-file.ts';
import { INSTALL_HINT, MotoNotInstalled, type MotoServer, startMoto } from './support/moto-server.ts';
import { readRecords, summarize } from './support/summary.ts';

export default async function setup(project: TestProject) {
  let server: MotoServer;
  try {
    // Services start with their tasks running: a first deployment COMPLETED, as after `cdk deploy`.
    server = await startMoto({ MOTO_ECS_SERVICE_RUNNING: '1' });
  } catch (error) {
    if (error instanceof MotoNotInstalled && process.env.CI !== 'true') {
      console.log(`AWS conformance suite skipped: moto_server is not installed (${INSTALL_HINT}).`);
      project.provide('motoEndpoint', '');
      project.provide('awsCallsDir', '');
      project.provide('awsTemplatesFile', '');
      return;
    }
    throw error;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'stackpilot-aws-'));
  const callsDir = join(workDir, 'calls');
  const templatesFile = join(workDir, 'templates.json');
  try {
    // The same synthesis (and cache) as the sandbox's account: one way to get the templates.
    const { stacks } = await appTemplates(loadConfigFile('stackpilot.yml'), SHARED_TEMPLATE_CACHE);
    writeFileSync(templatesFile, JSON.stringify(stacks));
  } catch (error) {
    await server.stop();
    throw error;
  }
  mkdirSync(callsDir);
  project.provide('motoEndpoint', server.endpoint);
  project.provide('awsCallsDir', callsDir);
  project.provide('awsTemplatesFile', templatesFile);
  return async () => {
    await server.stop();
    const records = readRecords(callsDir);
    rmSync(workDir, { recursive: true, force: true });
    // Only a run of the whole suite can tell an unchecked call (a single file checks a few).
    const files = readdirSync(import.meta.dirname).filter((f) => f.endsWith('.test.ts'));
    const summary = summarize(
      records,
      files.every((f) => records.some((r) => r.file === f)),
    );
    console.log(summary.text);
    if (summary.unchecked.length > 0) {
      throw new Error(`AWS calls neither checked on moto nor explained: ${summary.unchecked.join(', ')}`);
    }
  };
}
