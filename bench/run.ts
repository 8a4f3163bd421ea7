/**
 * `npm run bench`: measures stackpilot's speed, size and cost on generated inputs and
 * loopback servers only, prints a markdown table and writes `bench/results/latest.json`.
 *
 * `npm run bench -- bundles` runs one section (the file keeps the other sections' last rows); sections: source-packaging, bundles,
 * workflow-cost, reaction, sandbox-start, cli.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../infra/constructs/stackpilot-function.ts';
import { benchBundles } from './bundles.ts';
import { benchCli } from './cli.ts';
import { benchReaction } from './reaction.ts';
import { type BenchRow, machine, toMarkdown, writeResults } from './report.ts';
import { benchSandboxStart } from './sandbox-start.ts';
import { benchScaling } from './scaling.ts';
import { benchSourcePackaging } from './source-packaging.ts';
import { benchWorkflowCost } from './workflow-cost.ts';

const SECTIONS: Record<string, () => Promise<BenchRow[]>> = {
  'source-packaging': benchSourcePackaging,
  bundles: benchBundles,
  'workflow-cost': benchWorkflowCost,
  reaction: benchReaction,
  'sandbox-start': benchSandboxStart,
  scaling: benchScaling,
  cli: benchCli,
};

async function main(): Promise<number> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in SECTIONS));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark section ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`,
    );
    return 2;
  }
  const sections = new Map<string, BenchRow[]>();
  for (const [name, run] of Object.entries(SECTIONS)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    const started = Date.now();
    process.stderr.write(`bench: ${name}…\n`);
    sections.set(name, await run());
    process.stderr.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const out = join(PROJECT_ROOT, 'bench', 'results', 'latest.json');
  writeResults(out, sections);
  const m = machine();
  console.log(`stackpilot benchmarks on ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}\n`);
  console.log(toMarkdown([...sections.values()].flat()));
  console.log(`\nwritten to ${out} (rows of the sections not run now are kept from their last run)`);
  return 0;
}

process.exitCode = await main();
