/**
 * The emulated build of a monorepo app (`path` in stackpilot.yml): like the default buildspec,
 * it builds in the app's folder, where build.yml and the Dockerfile must be.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZipArchive } from 'archiver';
import { afterAll, describe, expect, it } from 'vitest';
import { emulateBuild } from '../../../sandbox/account/codebuild.ts';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const dir = mkdtempSync(join(tmpdir(), 'stackpilot-codebuild-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function zipFile(files: Record<string, string>): Promise<string> {
  const archive = new ZipArchive({ zlib: { level: 6 } });
  for (const [name, content] of Object.entries(files)) archive.append(content, { name });
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => archive.on('end', resolve));
  await archive.finalize();
  await ended;
  const path = join(dir, `${Object.keys(files).join('_').replaceAll('/', '-')}.zip`);
  writeFileSync(path, Buffer.concat(chunks));
  return path;
}

describe('emulateBuild with an app folder', () => {
  it("builds from the app's folder: its Dockerfile or build.yml, not the repository root's", async () => {
    const monorepo = await zipFile({
      Dockerfile: 'FROM scratch\n',
      'services/api/Dockerfile': 'FROM node:22\n',
      'services/web/build.yml': 'version: 0.2\nphases:\n  build:\n    commands: [docker build .]\n',
    });
    expect(emulateBuild(monorepo, 'Dockerfile', { COMMIT }, 'services/api')).toEqual({
      ok: true,
      commit: COMMIT,
      how: 'the default buildspec (docker build -f services/api/Dockerfile)',
    });
    expect(emulateBuild(monorepo, 'Dockerfile', { COMMIT }, 'services/web')).toMatchObject({
      ok: true,
      how: 'services/web/build.yml',
    });
  });

  it('fails as the buildspec does when the folder is missing, or holds neither file', async () => {
    const rootOnly = await zipFile({ Dockerfile: 'FROM scratch\n', 'docs/README.md': '# docs\n' });
    expect(emulateBuild(rootOnly, 'Dockerfile', { COMMIT }, 'services/api')).toEqual({
      ok: false,
      message: `Build failed: stackpilot: commit ${COMMIT} has no folder services/api (the app's path in stackpilot.yml).`,
    });
    expect(emulateBuild(rootOnly, 'Dockerfile', { COMMIT }, 'docs')).toEqual({
      ok: false,
      message:
        'Build failed: the source of commit 0123456789ab has neither a Dockerfile nor a build.yml; add a Dockerfile (or a build.yml) in docs.',
    });
    const badSpec = await zipFile({ 'web/build.yml': 'phases: [unclosed\n' });
    expect(emulateBuild(badSpec, 'Dockerfile', { COMMIT }, 'web')).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /^Build failed: YAML_FILE_ERROR: web\/build.yml of commit 0123456789ab is not valid YAML/,
      ),
    });
  });

  it('takes the commit of the zip when the COMMIT variable is the pipeline default HEAD', async () => {
    const withGit = await zipFile({ Dockerfile: 'FROM scratch\n', '.git/HEAD': `${COMMIT}\n` });
    expect(emulateBuild(withGit, 'Dockerfile', { COMMIT: 'HEAD' })).toMatchObject({
      ok: true,
      commit: COMMIT,
    });
  });
});
