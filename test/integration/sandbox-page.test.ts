/**
 * The sandbox's live page in a real browser (Debian's `chromium`, headless): it shows the
 * stages, and a `git push` to the starter app shows up on it, without a reload, as the new
 * revision and commit of the stage and as the deploy execution. Text from the sandbox is
 * shown as text, never parsed as HTML, and the page loads nothing but its own files.
 *
 * Without the browser the suite is skipped with one line saying so; under CI=true (where
 * `.ci/run` installs it) a missing browser fails the run instead.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startBanner, startSandbox } from '../../sandbox/server.ts';
import { Browser, CHROMIUM } from './support/chromium.ts';

const hasChromium = existsSync(CHROMIUM);
const underCi = process.env.CI === 'true';

if (!hasChromium && !underCi) {
  console.log(
    `sandbox page test skipped: no headless browser at ${CHROMIUM} (install Debian's chromium package to run it; CI installs it)`,
  );
}

if (!hasChromium && underCi) {
  describe('the sandbox page under CI=true', () => {
    it('has the browser it is tested in', () => {
      expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`).toBe(true);
    });
  });
}

const identity = {
  GIT_AUTHOR_NAME: 'Ada Developer',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Developer',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** The real git client, asynchronous: the sandbox runs in this same process. */
function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { cwd, env: { ...process.env, ...identity, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout, stderr) =>
        error ? reject(new Error(`git ${args[0]}: ${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

/** What the page shows for a stage, read from its DOM. */
interface StageOnPage {
  revision: string;
  commit: string;
  commitTitle: string;
  tasks: string;
  release: string;
}

const readStage = (name: string) => `(() => {
  const row = document.querySelector('#stages tr[data-stage=${JSON.stringify(name)}]');
  if (!row) return null;
  const text = (selector) => row.querySelector(selector)?.textContent ?? '';
  return {
    revision: text('.revision'),
    commit: text('.commit'),
    commitTitle: row.querySelector('.commit')?.getAttribute('title') ?? '',
    tasks: text('.tasks'),
    release: text('.release'),
  };
})()`;

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.runIf(hasChromium)('the sandbox page in headless Chromium', () => {
  let dir: string;
  let sandbox: Sandbox;
  let browser: Browser;
  let page: string;
  /** Exceptions, console errors and policy violations the page reported. */
  const problems: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-page-'));
    delete process.env.STACKPILOT_WEBHOOK_SECRET;
    sandbox = await startSandbox({
      dataDir: join(dir, 'data'),
      port: 0,
      timeScale: 300,
      log: () => undefined,
    });
    browser = Browser.launch();
    browser.onEvent((m) => {
      if (m.method === 'Runtime.exceptionThrown') {
        problems.push(
          `exception: ${m.params.exceptionDetails?.exception?.description ?? m.params.exceptionDetails?.text}`,
        );
      }
      if (m.method === 'Runtime.consoleAPICalled' && m.params.type === 'error') {
        problems.push(
          `console.error: ${JSON.stringify(m.params.args?.map((a: { value?: unknown }) => a.value))}`,
        );
      }
      if (m.method === 'Log.entryAdded' && m.params.entry?.level === 'error') {
        problems.push(`${m.params.entry.source}: ${m.params.entry.text}`);
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and its files from the sandbox, with a policy that allows only its own files', async () => {
    expect(startBanner(sandbox)).toContain(`live page: ${sandbox.url}/`);
    const index = await fetch(`${sandbox.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await index.text();
    // No build step and nothing from elsewhere: every script and stylesheet is the sandbox's own.
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual([
      '/ui/icon.svg',
      '/ui/style.css',
      '/ui/app.js',
    ]);
    for (const file of ['app.js', 'view.js']) {
      const response = await fetch(`${sandbox.url}/ui/${file}`);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await response.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    }
    expect((await fetch(`${sandbox.url}/ui/static.ts`)).status).toBe(404);
    const history = (await (await fetch(`${sandbox.url}/history`)).json()) as {
      windowMs: number;
      stages: { app: string; stage: string; samples: unknown[] }[];
    };
    expect(history.windowMs).toBe(3_600_000);
    expect(history.stages.map((s) => `${s.app}/${s.stage}`)).toContain('starter/dev');
  });

  it('shows the stages, the chart and the executions', async () => {
    page = await browser.open(`${sandbox.url}/`);
    const dev = await until(
      'the page to show starter/dev',
      () => browser.evaluate<StageOnPage>(page, readStage('starter/dev')),
      15_000,
    );
    // The stage's template registered the placeholder revision: no commit runs yet.
    expect(dev).toMatchObject({ revision: '1', commit: '—' });
    expect(dev.tasks).toMatch(/^\d+\/\d+/);
    const chart = await until(
      'the chart of starter/dev',
      () =>
        browser.evaluate<{ lines: number; points: string } | null>(
          page,
          `(() => {
            const figure = document.querySelector('#charts figure[data-chart="starter/dev"]');
            const lines = figure ? figure.querySelectorAll('svg polyline') : [];
            const running = figure?.querySelector('svg polyline.running')?.getAttribute('points') ?? '';
            return running ? { lines: lines.length, points: running } : null;
          })()`,
        ),
      15_000,
    );
    expect(chart.lines).toBe(3);
    expect(chart.points).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+)*$/);
    expect(await browser.evaluate<string>(page, `document.getElementById('status').className`)).toBe('ok');
  });

  it('shows a pushed commit as the stage’s new revision and commit, without a reload', async () => {
    const work = join(dir, 'starter');
    await git(['clone', '--quiet', `${sandbox.url}/git/starter.git`, work], dir);
    writeFileSync(
      join(work, 'server.js'),
      `${readFileSync(join(work, 'server.js'), 'utf8')}\n// seen on the page\n`,
    );
    await git(['commit', '--quiet', '-am', 'A change to see on the page'], work);
    const commit = await git(['rev-parse', 'HEAD'], work);
    const marker = await browser.evaluate<number>(page, 'window.__loadedAt = performance.timeOrigin');
    const pushed = Date.now();
    await git(['push', '--quiet', 'origin', 'main'], work);

    // The push's deploy (then its release) runs for seconds of real time: the page shows it
    // running, in the state it is in.
    const running = await until(
      'a running execution of starter/dev on the page',
      () =>
        browser.evaluate<{ machine: string; state: string } | null>(
          page,
          `(() => {
            const row = [...document.querySelectorAll('#executions tbody tr.running')].find(
              (r) => r.cells[2]?.textContent === 'starter/dev' && r.cells[4]?.textContent,
            );
            return row ? { machine: row.cells[0].textContent, state: row.cells[4].textContent } : null;
          })()`,
        ),
      30_000,
    );
    expect(['deploy', 'release']).toContain(running.machine);
    expect(running.state).not.toBe('');

    const dev = await until(
      'the page to show the pushed commit',
      async () => {
        const shown = await browser.evaluate<StageOnPage | null>(page, readStage('starter/dev'));
        return shown?.commitTitle === commit && shown.release.startsWith('SUCCEEDED') ? shown : undefined;
      },
      90_000,
    );
    console.log(`sandbox page: the push showed on the page after ${Date.now() - pushed} ms (time x300)`);
    expect(Number(dev.revision)).toBeGreaterThan(1);
    expect(dev.commit).toBe(commit.slice(0, 7));
    expect(dev.release).toBe(`SUCCEEDED ${commit.slice(0, 7)}`);
    // The same document all along: the page updated itself.
    expect(await browser.evaluate<number>(page, 'window.__loadedAt')).toBe(marker);
    await until(
      'the deploy to show as SUCCEEDED',
      () =>
        browser.evaluate<boolean | null>(
          page,
          `[...document.querySelectorAll('#executions tbody tr')].some((r) => r.textContent.includes('deploy') && r.textContent.includes('SUCCEEDED')) || null`,
        ),
      15_000,
    );
  });

  it('shows text from the sandbox as text, never as markup', async () => {
    const app = '<img src=x id="injected" onerror="window.__injected=1">';
    const response = await fetch(`${sandbox.url}/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        stateMachine: 'release',
        input: { app, stage: 'dev' },
        name: 'page-escapes-text',
      }),
    });
    expect(response.status).toBe(202);
    const row = await until(
      'the execution on the page',
      () =>
        browser.evaluate<string | null>(
          page,
          `document.querySelector('#executions tr[data-execution="page-escapes-text"]')?.textContent ?? null`,
        ),
      15_000,
    );
    expect(row).toContain(`${app}/dev`);
    expect(
      await browser.evaluate<unknown>(
        page,
        `[document.getElementById('injected'), window.__injected ?? null]`,
      ),
    ).toEqual([null, null]);
    expect(problems).toEqual([]);
  });

  it('keeps a row that did not change as the same node across polls', async () => {
    const ended = `document.querySelector('#executions tr[data-execution="page-escapes-text"]:not(.running)')`;
    await until(
      'the release to end on the page',
      () => browser.evaluate<boolean | null>(page, `${ended} ? true : null`),
      30_000,
    );
    // A property of the node, not an attribute: the row's content stays what the page renders.
    await browser.evaluate(page, `${ended}.marked = 'yes'`);
    // Three polls at least (every 1.5 s).
    await new Promise((r) => setTimeout(r, 5000));
    expect(await browser.evaluate<string | null>(page, `${ended}?.marked ?? null`)).toBe('yes');
    expect(problems).toEqual([]);
  });
});
