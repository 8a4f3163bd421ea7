import { sign, verify } from '@octokit/webhooks-methods';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyGithubSignature, verifyGitlabToken } from '#shared/webhook/signature.ts';
import { githubSignature } from './support.ts';

// GitHub's documented test vector ("Validating webhook deliveries").
const SECRET = "It's a Secret to Everybody";
const BODY = 'Hello, World!';
const SIGNATURE = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

describe('GitHub X-Hub-Signature-256', () => {
  it("matches GitHub's documented test vector", () => {
    expect(githubSignature(SECRET, BODY)).toBe(SIGNATURE);
    expect(verifyGithubSignature(SECRET, Buffer.from(BODY), SIGNATURE)).toBe(true);
  });

  it('accepts the hex digest in upper case and surrounding spaces', () => {
    expect(
      verifyGithubSignature(
        SECRET,
        Buffer.from(BODY),
        ` ${SIGNATURE.toUpperCase().replace('SHA256', 'sha256')} `,
      ),
    ).toBe(true);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['the SHA-1 header format', 'sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59'],
    ['a truncated digest', SIGNATURE.slice(0, -2)],
    ['a digest without prefix', SIGNATURE.slice('sha256='.length)],
    ['non-hex digits', `sha256=${'z'.repeat(64)}`],
  ])('refuses a signature that is %s', (_what, header) => {
    expect(verifyGithubSignature(SECRET, Buffer.from(BODY), header)).toBe(false);
  });

  it('refuses the right signature under another secret or over another body', () => {
    expect(verifyGithubSignature('another secret', Buffer.from(BODY), SIGNATURE)).toBe(false);
    expect(verifyGithubSignature(SECRET, Buffer.from('Hello, World?'), SIGNATURE)).toBe(false);
    expect(verifyGithubSignature('', Buffer.from(BODY), SIGNATURE)).toBe(false);
  });

  it('agrees with @octokit/webhooks-methods on any text body and secret', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), async (secret, body) => {
        const theirs = await sign(secret, body);
        expect(githubSignature(secret, body)).toBe(theirs);
        expect(verifyGithubSignature(secret, Buffer.from(body, 'utf8'), theirs)).toBe(
          await verify(secret, body, theirs),
        );
      }),
    );
  });

  it('refuses any single-bit change of the body', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (body, at, bit) => {
          const signature = githubSignature(SECRET, body);
          const changed = Uint8Array.from(body);
          const i = at % changed.length;
          changed[i] = (changed[i] ?? 0) ^ (1 << bit);
          expect(verifyGithubSignature(SECRET, changed, signature)).toBe(false);
        },
      ),
    );
  });
});

describe('GitLab X-Gitlab-Token', () => {
  it('accepts the exact token only', () => {
    expect(verifyGitlabToken('s3cret-token', 's3cret-token')).toBe(true);
    expect(verifyGitlabToken('s3cret-token', 's3cret-tokeN')).toBe(false);
    expect(verifyGitlabToken('s3cret-token', 's3cret-token ')).toBe(false);
    expect(verifyGitlabToken('s3cret-token', '')).toBe(false);
    expect(verifyGitlabToken('s3cret-token', undefined)).toBe(false);
    expect(verifyGitlabToken('', '')).toBe(false);
  });

  it('refuses every other string', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (token, given) => {
        expect(verifyGitlabToken(token, given)).toBe(token === given);
      }),
    );
  });
});
