import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../shared/errors.ts';
import {
  CommitNotFound,
  RepositoryAccessDenied,
  RepositoryUnreachable,
  RepositoryUnsupported,
} from '../../../shared/source/errors.ts';
import {
  classifyGitError,
  isValidBranchName,
  stripCredentials,
  tokenCredentials,
} from '../../../shared/source/fetch-commit.ts';

const context = { url: 'https://github.com/acme/app.git', commit: 'c0ffee'.padEnd(40, '0'), branch: 'main' };
const httpError = (statusCode: number, statusMessage = '') =>
  Object.assign(new Error(`HTTP Error: ${statusCode} ${statusMessage}`), {
    code: 'HttpError',
    data: { statusCode, statusMessage },
  });
const systemError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('classifyGitError', () => {
  it.each([401, 403])('maps HTTP %i to RepositoryAccessDenied', (status) => {
    const error = classifyGitError(httpError(status, 'Unauthorized'), context);
    expect(error).toBeInstanceOf(RepositoryAccessDenied);
    expect(error.message).toContain(context.url);
  });

  it('names the other host when a redirect target asks for credentials (the token never goes there)', () => {
    const foreign = Object.assign(httpError(401, 'Unauthorized'), {
      data: { statusCode: 401, statusMessage: 'Unauthorized', foreignOrigin: 'http://localhost:9' },
    });
    const error = classifyGitError(foreign, context);
    expect(error).toBeInstanceOf(RepositoryAccessDenied);
    expect(error.message).toContain('redirected to http://localhost:9');
    expect(error.message).toContain("only ever sent to the repository's own host");
  });

  it('maps HTTP 404 and an unknown host to RepositoryUnreachable', () => {
    expect(classifyGitError(httpError(404, 'Not Found'), context)).toBeInstanceOf(RepositoryUnreachable);
    expect(classifyGitError(systemError('ENOTFOUND'), context)).toBeInstanceOf(RepositoryUnreachable);
  });

  it('maps a server that does not speak smart HTTP to RepositoryUnreachable', () => {
    const notGit = Object.assign(new Error('Remote did not reply using the "smart" HTTP protocol.'), {
      code: 'SmartHttpError',
    });
    expect(classifyGitError(notGit, context)).toBeInstanceOf(RepositoryUnreachable);
  });

  it.each([500, 502, 503, 504, 429, 408])('maps HTTP %i to TransientError naming the commit', (status) => {
    const error = classifyGitError(httpError(status), context);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain(context.commit);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN'])('maps %s to TransientError', (code) => {
    expect(classifyGitError(systemError(code), context)).toBeInstanceOf(TransientError);
  });

  it('maps a redirect it does not follow to RepositoryUnreachable saying so, not "does not exist"', () => {
    const error = classifyGitError(httpError(302, 'Found'), context);
    expect(error).toBeInstanceOf(RepositoryUnreachable);
    expect(error.message).toContain('a redirect not followed');
  });

  it.each(['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID'])(
    'maps the TLS failure %s to RepositoryUnreachable (never retried)',
    (code) => {
      const error = classifyGitError(systemError(code), context);
      expect(error).toBeInstanceOf(RepositoryUnreachable);
      expect(error.message).toContain(`not trusted (${code})`);
    },
  );

  it('maps a full temporary folder (ENOSPC) to RepositoryUnsupported naming the commit', () => {
    const error = classifyGitError(systemError('ENOSPC'), context);
    expect(error).toBeInstanceOf(RepositoryUnsupported);
    expect(error.message).toContain(context.commit);
  });

  it('maps a server failing mid-pack (side-band channel 3) to TransientError, as a 5xx', () => {
    const failed = Object.assign(new Error('fatal: out of memory'), { code: 'UploadPackFailed' });
    const error = classifyGitError(failed, context);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('fatal: out of memory');
  });

  it.each([
    ['UnsupportedRepository', 'x is a SHA256 repository'],
    ['UploadPackError', 'upload-pack: deepen not allowed'],
    ['CorruptPack', 'the pack x sent does not match its own checksum'],
  ])('maps %s to RepositoryUnsupported, never retried', (code, message) => {
    const error = classifyGitError(Object.assign(new Error(message), { code }), context);
    expect(error).toBeInstanceOf(RepositoryUnsupported);
    expect(error).not.toBeInstanceOf(TransientError);
    expect(error.message).toContain(message);
  });

  it('shortens huge URLs and branch names in messages (a Step Functions Cause keeps 32,768 characters)', () => {
    const huge = 'b'.repeat(70_000);
    const error = classifyGitError(httpError(404), { ...context, url: `https://example.com/${huge}` });
    expect(error.message.length).toBeLessThan(500);
  });

  it('keeps errors that are already classified and passes unknown ones through', () => {
    const known = new CommitNotFound('x');
    expect(classifyGitError(known, context)).toBe(known);
    const unknown = new Error('something else');
    expect(classifyGitError(unknown, context)).toBe(unknown);
  });
});

describe('isValidBranchName', () => {
  it.each(['main', 'feature/login', 'release-1.2', 'ünïcode-ブランチ', 'a.b/c_d'])('accepts %s', (name) => {
    expect(isValidBranchName(name)).toBe(true);
  });

  it.each([
    '',
    '@',
    '-x',
    'two words',
    'tab\there',
    'a..b',
    'a~1',
    'a^',
    'a:b',
    'a?',
    'a*',
    'a[b',
    'a\\b',
    'x@{1}',
    'a//b',
    'a/',
    'a.',
    '.hidden',
    'a/.b',
    'x.lock',
    'a/b.lock/c',
    'nul\u0000',
    'del\u007f',
  ])('refuses %j', (name) => {
    expect(isValidBranchName(name)).toBe(false);
  });
});

describe('credentials', () => {
  it('strips user info from URLs so it reaches neither .git/config nor a message', () => {
    expect(stripCredentials('https://user:secret@github.com/acme/app.git')).toBe(
      'https://github.com/acme/app.git',
    );
    expect(stripCredentials('https://gitlab.com/acme/app.git')).toBe('https://gitlab.com/acme/app.git');
  });

  it('uses the username each provider expects with a token', () => {
    expect(tokenCredentials('github', 't')).toEqual({ username: 'x-access-token', password: 't' });
    expect(tokenCredentials('gitlab', 't')).toEqual({ username: 'oauth2', password: 't' });
  });
});
