/**
 * Errors of source packaging. Each `name` is an error code the deploy state machine's
 * Catch clauses match; each message names the repository, commit, bucket or key involved.
 * Transient failures (network errors, 5xx, throttling) are `TransientError` instead, retried.
 */

/**
 * The pushed commit cannot be fetched: the repository is empty, or no branch or tag reaches
 * the commit and the server will not send it by id (it never existed there, or a force-push
 * took it off its branch on a server that only serves reachable commits).
 */
export class CommitNotFound extends Error {
  override readonly name = 'CommitNotFound';
}

/** The repository does not exist at that URL (or is hidden from these credentials), or is not a git server. */
export class RepositoryUnreachable extends Error {
  override readonly name = 'RepositoryUnreachable';
}

/** The git server refused the credentials (or their absence). */
export class RepositoryAccessDenied extends Error {
  override readonly name = 'RepositoryAccessDenied';
}

/**
 * The repository or its server uses what this client cannot read: an object format other
 * than SHA-1 (SHA-256 repositories), a server without side-band, a fetch the server refuses
 * for another reason than the commit, or a pack that does not verify. Retrying cannot help.
 */
export class RepositoryUnsupported extends Error {
  override readonly name = 'RepositoryUnsupported';
}

/** The zip could not be written or uploaded for a reason that retrying will not fix. */
export class SourceUploadFailed extends Error {
  override readonly name = 'SourceUploadFailed';
}

/** S3 returned no version id: the bucket is not versioned, so the pipeline could not be pinned to this upload. */
export class SourceBucketNotVersioned extends Error {
  override readonly name = 'SourceBucketNotVersioned';
}

/** Longest quoted value in a message: a Step Functions Cause keeps 32,768 characters in all. */
const QUOTE_MAX = 200;

/** A value to quote in an error message, shortened when it is longer than {@link QUOTE_MAX}. */
export function brief(value: string): string {
  return value.length <= QUOTE_MAX ? value : `${value.slice(0, QUOTE_MAX)}… (${value.length} characters)`;
}
