/**
 * Pull requests on the sandbox's git server (`stackpilot pr open|update|close`): each opens,
 * moves or closes a pull request of a branch against the default branch, points
 * `refs/pull/<n>/head` at the branch tip as GitHub does, and builds the `pull_request` webhook
 * payload GitHub would send (the fields of GitHub's own examples that stackpilot or a reader
 * uses; `test/unit/sandbox/pull-request.test.ts` checks them against `@octokit/webhooks-examples`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from './repo.ts';

export type PullRequestAction = 'opened' | 'synchronize' | 'reopened' | 'closed';

/** One pull request of the sandbox, as its store keeps it. */
export interface SandboxPullRequest {
  readonly number: number;
  /** The head branch (`feature/x`) and the base branch (`main`). */
  readonly head: string;
  readonly base: string;
  state: 'open' | 'closed';
  merged: boolean;
  /** The head commit when the pull request was last opened or updated. */
  sha: string;
  readonly createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

/** Thrown for a request the sandbox's pull requests cannot take (HTTP 4xx, CLI exit 2). */
export class PullRequestError extends Error {
  override readonly name = 'PullRequestError';
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
  }
}

/**
 * The pull requests of one bare repository, in `<gitDir>/stackpilot-pulls.json`. Numbers count
 * up from 1 and are never reused, as on GitHub.
 */
export class PullRequestStore {
  private readonly file: string;

  constructor(private readonly gitDir: string) {
    this.file = join(gitDir, 'stackpilot-pulls.json');
  }

  list(): SandboxPullRequest[] {
    if (!existsSync(this.file)) return [];
    return JSON.parse(readFileSync(this.file, 'utf8')) as SandboxPullRequest[];
  }

  private save(pulls: SandboxPullRequest[]): void {
    writeFileSync(this.file, `${JSON.stringify(pulls, null, 1)}\n`);
  }

  /**
   * Opens a pull request of `head` into the repository's default branch (or reopens the closed,
   * unmerged one of that branch); updates the open one with the branch's new tip; closes it.
   * Returns the pull request and the action GitHub would report.
   */
  async change(
    request: { action: 'open' | 'update' | 'close'; branch?: string; number?: number; merged?: boolean },
    now: Date,
  ): Promise<{ pull: SandboxPullRequest; action: PullRequestAction }> {
    const pulls = this.list();
    const found = this.find(pulls, request);
    const at = now.toISOString();
    let action: PullRequestAction;
    let pull: SandboxPullRequest;
    if (request.action === 'open') {
      if (found?.state === 'open') {
        throw new PullRequestError(
          `pull request #${found.number} of ${found.head} is already open; use "pr update" after pushing`,
          409,
        );
      }
      const head = found?.head ?? request.branch;
      if (!head) throw new PullRequestError('name the branch to open a pull request of (--branch)', 400);
      const sha = await this.tip(head);
      const base = await this.defaultBranch();
      if (head === base) {
        throw new PullRequestError(
          `${head} is the default branch: open a pull request of another branch`,
          400,
        );
      }
      if (found && !found.merged) {
        pull = Object.assign(found, { state: 'open', sha, updatedAt: at, closedAt: null });
        action = 'reopened';
      } else {
        pull = {
          number: pulls.reduce((max, p) => Math.max(max, p.number), 0) + 1,
          head,
          base,
          state: 'open',
          merged: false,
          sha,
          createdAt: at,
          updatedAt: at,
          closedAt: null,
        };
        pulls.push(pull);
        action = 'opened';
      }
    } else {
      if (!found) {
        throw new PullRequestError(
          `no pull request ${request.number !== undefined ? `#${request.number}` : `of ${request.branch}`}; open one first (stackpilot pr open <app> --branch B)`,
          404,
        );
      }
      if (found.state !== 'open') {
        throw new PullRequestError(`pull request #${found.number} is closed; "pr open" reopens it`, 409);
      }
      pull = found;
      if (request.action === 'update') {
        pull.sha = await this.tip(pull.head);
        action = 'synchronize';
      } else {
        Object.assign(pull, { state: 'closed', merged: request.merged === true, closedAt: at });
        action = 'closed';
      }
      pull.updatedAt = at;
    }
    await git(['update-ref', `refs/pull/${pull.number}/head`, pull.sha], { gitDir: this.gitDir });
    this.save(pulls);
    return { pull, action };
  }

  private find(
    pulls: SandboxPullRequest[],
    request: { branch?: string; number?: number },
  ): SandboxPullRequest | undefined {
    if (request.number !== undefined) return pulls.find((p) => p.number === request.number);
    // The newest pull request of the branch: the open one if there is one.
    const ofBranch = pulls.filter((p) => p.head === request.branch);
    return ofBranch.find((p) => p.state === 'open') ?? ofBranch.at(-1);
  }

  private async tip(branch: string): Promise<string> {
    try {
      return (
        await git(['rev-parse', '--verify', `refs/heads/${branch}^{commit}`], { gitDir: this.gitDir })
      ).trim();
    } catch {
      throw new PullRequestError(`no branch ${branch} in the repository: push it first`, 404);
    }
  }

  private async defaultBranch(): Promise<string> {
    return (
      (await git(['symbolic-ref', '--short', 'HEAD'], { gitDir: this.gitDir }).catch(() => 'main')) || 'main'
    );
  }
}

// biome-ignore lint/suspicious/noExplicitAny: a GitHub webhook payload is a large JSON document.
export type GithubPullRequestPayload = Record<string, any>;

/** The `pull_request` webhook payload of `pull` after `action`, for the repository `fullName`. */
export async function githubPullRequestPayload(input: {
  readonly gitDir: string;
  readonly fullName: string;
  readonly cloneUrl: string;
  readonly pull: SandboxPullRequest;
  readonly action: PullRequestAction;
}): Promise<GithubPullRequestPayload> {
  const { gitDir, fullName, cloneUrl, pull, action } = input;
  const [owner = 'sandbox', name = fullName] = fullName.split('/');
  const htmlUrl = cloneUrl.replace(/\.git$/, '');
  const origin = new URL(htmlUrl).origin;
  const apiUrl = `${origin}/api/v3/repos/${fullName}`;
  const account = {
    login: owner,
    id: 1,
    node_id: 'O_sandbox',
    type: 'Organization',
    html_url: `${origin}/${owner}`,
  };
  const repository = {
    id: 1,
    node_id: 'R_sandbox',
    name,
    full_name: fullName,
    private: false,
    owner: account,
    html_url: htmlUrl,
    url: apiUrl,
    clone_url: cloneUrl,
    git_url: cloneUrl.replace(/^https?:/, 'git:'),
    ssh_url: `git@${new URL(htmlUrl).host}:${fullName}.git`,
    default_branch: pull.base,
    fork: false,
  };
  const baseSha = (
    await git(['rev-parse', '--verify', `refs/heads/${pull.base}^{commit}`], { gitDir }).catch(() => '')
  ).trim();
  const commits = Number(
    (
      await git(['rev-list', '--count', pull.sha, '--not', baseSha || pull.sha], { gitDir }).catch(() => '1')
    ).trim(),
  );
  const side = (ref: string, sha: string) => ({
    label: `${owner}:${ref}`,
    ref,
    sha,
    user: account,
    repo: repository,
  });
  const mergedAt = pull.merged ? pull.closedAt : null;
  return {
    action,
    number: pull.number,
    pull_request: {
      url: `${apiUrl}/pulls/${pull.number}`,
      id: pull.number,
      node_id: `PR_sandbox_${pull.number}`,
      html_url: `${htmlUrl}/pull/${pull.number}`,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: `${pull.head} into ${pull.base}`,
      user: account,
      body: null,
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
      closed_at: pull.closedAt,
      merged_at: mergedAt,
      merge_commit_sha: null,
      head: side(pull.head, pull.sha),
      base: side(pull.base, baseSha),
      draft: false,
      merged: pull.merged,
      commits,
      author_association: 'OWNER',
    },
    repository,
    sender: account,
  };
}
