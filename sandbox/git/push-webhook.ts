/**
 * Turns a push accepted by the sandbox's git server into the webhook GitHub would send:
 * a `push` event payload built from the repository itself (commits, files, authors),
 * signed with the webhook secret (`X-Hub-Signature-256`) and POSTed to the webhook URL.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { RefUpdate } from './http-backend.ts';
import { git } from './repo.ts';

/** GitHub lists at most 20 commits in a push payload. */
const MAX_COMMITS = 20;

// biome-ignore lint/suspicious/noExplicitAny: a GitHub webhook payload is a large JSON document.
export type GithubPushPayload = Record<string, any>;

export interface PushPayloadInput {
  readonly gitDir: string;
  /** `owner/name` shown as the repository's full name. */
  readonly fullName: string;
  /** The clone URL (what stackpilot matches against `stackpilot.yml`). */
  readonly cloneUrl: string;
  readonly update: RefUpdate;
  /** Who pushed. */
  readonly pusher?: { name: string; email: string };
  /** Current time, seconds since the epoch (the payload's `pushed_at`). */
  readonly now?: Date;
}

interface CommitInfo {
  id: string;
  tree_id: string;
  distinct: boolean;
  message: string;
  timestamp: string;
  url: string;
  author: { name: string; email: string; username: string };
  committer: { name: string; email: string; username: string };
  added: string[];
  removed: string[];
  modified: string[];
}

const isZero = (sha: string) => /^0+$/.test(sha);

/** Builds a GitHub `push` webhook payload for one ref update, from the bare repository. */
export async function githubPushPayload(input: PushPayloadInput): Promise<GithubPushPayload> {
  const { gitDir, update, fullName, cloneUrl } = input;
  const [owner = 'sandbox', name = fullName] = fullName.split('/');
  const htmlUrl = cloneUrl.replace(/\.git$/, '');
  const created = isZero(update.before);
  const deleted = isZero(update.after);
  const tag = update.ref.startsWith('refs/tags/');

  let commits: CommitInfo[] = [];
  let forced = false;
  if (!deleted && !tag) {
    const range = created
      ? [update.after, '--not', '--exclude', update.ref, '--branches']
      : [`${update.before}..${update.after}`];
    const ids = (await git(['rev-list', '--reverse', ...range], { gitDir })).split('\n').filter(Boolean);
    commits = await Promise.all(ids.slice(-MAX_COMMITS).map((id) => commitInfo(gitDir, id, htmlUrl)));
    if (!created) {
      forced = await git(['merge-base', '--is-ancestor', update.before, update.after], { gitDir }).then(
        () => false,
        () => true,
      );
    }
  }
  const headCommit = deleted ? null : (commits.at(-1) ?? (await commitInfo(gitDir, update.after, htmlUrl)));
  const defaultBranch =
    (await git(['symbolic-ref', '--short', 'HEAD'], { gitDir }).catch(() => 'main')) || 'main';
  const pusher = input.pusher ?? { name: 'sandbox', email: 'sandbox@stackpilot.invalid' };
  const account = {
    login: owner,
    id: 1,
    type: 'Organization',
    html_url: `${new URL(htmlUrl).origin}/${owner}`,
  };
  const pushedAt = Math.floor((input.now ?? new Date()).getTime() / 1000);

  return {
    ref: update.ref,
    before: update.before,
    after: update.after,
    repository: {
      id: 1,
      node_id: 'R_sandbox',
      name,
      full_name: fullName,
      private: false,
      owner: { ...account, name: owner },
      html_url: htmlUrl,
      url: htmlUrl,
      clone_url: cloneUrl,
      git_url: cloneUrl.replace(/^https?:/, 'git:'),
      ssh_url: `git@${new URL(htmlUrl).host}:${fullName}.git`,
      default_branch: defaultBranch,
      master_branch: defaultBranch,
      pushed_at: pushedAt,
    },
    pusher,
    sender: account,
    created,
    deleted,
    forced,
    base_ref: null,
    compare: created
      ? `${htmlUrl}/commit/${update.after.slice(0, 12)}`
      : `${htmlUrl}/compare/${update.before.slice(0, 12)}...${update.after.slice(0, 12)}`,
    commits,
    head_commit: headCommit,
  };
}

async function commitInfo(gitDir: string, id: string, htmlUrl: string): Promise<CommitInfo> {
  const format = ['%H', '%T', '%an', '%ae', '%aI', '%cn', '%ce', '%B'].join('%x00');
  const raw = await git(['show', '-s', `--format=${format}`, id], { gitDir });
  const [sha = id, tree = '', an = '', ae = '', ad = '', cn = '', ce = '', ...message] = raw.split('\0');
  const changes = await git(['diff-tree', '--no-commit-id', '--root', '-r', '--name-status', id], { gitDir });
  const added: string[] = [];
  const removed: string[] = [];
  const modified: string[] = [];
  for (const line of changes.split('\n').filter(Boolean)) {
    const [status = '', ...paths] = line.split('\t');
    const path = paths.at(-1) ?? '';
    if (status.startsWith('A')) added.push(path);
    else if (status.startsWith('D')) removed.push(path);
    else modified.push(path);
  }
  return {
    id: sha,
    tree_id: tree,
    distinct: true,
    message: message.join('\0').trim(),
    timestamp: ad,
    url: `${htmlUrl}/commit/${sha}`,
    author: { name: an, email: ae, username: an },
    committer: { name: cn, email: ce, username: cn },
    added,
    removed,
    modified,
  };
}

/** The headers GitHub sends with a webhook delivery, signature included. */
export function githubDeliveryHeaders(
  event: string,
  body: string,
  secret: string,
  deliveryId: string = randomUUID(),
): Record<string, string> {
  const hmac = (algorithm: string) => createHmac(algorithm, secret).update(body, 'utf8').digest('hex');
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/stackpilot-sandbox',
    'x-github-event': event,
    'x-github-delivery': deliveryId,
    'x-github-hook-id': '1',
    'x-github-hook-installation-target-type': 'repository',
    'x-github-hook-installation-target-id': '1',
    'x-hub-signature': `sha1=${hmac('sha1')}`,
    'x-hub-signature-256': `sha256=${hmac('sha256')}`,
  };
}

/** The answer to one webhook delivery. */
export interface DeliveryResult {
  readonly deliveryId: string;
  readonly ref: string;
  readonly status: number;
  readonly body: string;
}

/** POSTs the payload to `url` as GitHub would and returns the answer. */
export async function deliverGithubWebhook(
  url: string,
  secret: string,
  event: string,
  payload: unknown,
): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  const deliveryId = randomUUID();
  const response = await fetch(url, {
    method: 'POST',
    headers: githubDeliveryHeaders(event, body, secret, deliveryId),
    body,
  });
  return {
    deliveryId,
    ref: (payload as { ref?: string }).ref ?? '',
    status: response.status,
    body: await response.text(),
  };
}
