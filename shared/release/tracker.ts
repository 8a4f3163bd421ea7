/**
 * Starting and advancing a watched deployment ({@link Tracker}), pure: the handlers
 * fetch, these functions decide.
 */
import type { Tag } from '@aws-sdk/client-ecs';
import { nextWaitSeconds } from './deployment.ts';
import type { PreparedRelease, Tracker } from './model.ts';
import { RELEASE_TAGS } from './task-definition.ts';

/** A new tracker: polled first after the first wait of {@link nextWaitSeconds}, given up at `now + timeoutMinutes`. */
export function startTracker(
  fields: Pick<Tracker, 'kind' | 'deploymentId' | 'taskDefinitionArn' | 'revision'> &
    Partial<Pick<Tracker, 'rollbackOf' | 'rolledBackBy'>>,
  timeoutMinutes: number,
  now: number,
): Tracker {
  const timeoutSeconds = timeoutMinutes * 60;
  return {
    ...fields,
    startedAt: new Date(now).toISOString(),
    deadline: new Date(now + timeoutSeconds * 1000).toISOString(),
    polls: 0,
    waitSeconds: nextWaitSeconds(0, timeoutSeconds),
    state: 'IN_PROGRESS',
  };
}

/** Seconds since the tracker started and seconds left before its deadline, at `now`. */
export function timing(tracker: Tracker, now: number): { elapsed: number; remaining: number } {
  return {
    elapsed: (now - Date.parse(tracker.startedAt)) / 1000,
    remaining: (Date.parse(tracker.deadline) - now) / 1000,
  };
}

/** ECS tag values allow letters, digits, spaces and `+ - = . _ : / @`, up to 256 characters. */
export function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{N} +\-=._:/@]/gu, '_').slice(0, 256);
}

/** The tags a release writes on the revision it registers. */
export function releaseTags(release: PreparedRelease): Tag[] {
  const tags: Tag[] = [{ key: RELEASE_TAGS.execution, value: tagValue(release.execution) }];
  if (release.image) tags.push({ key: RELEASE_TAGS.image, value: tagValue(release.image) });
  if (release.commit) tags.push({ key: RELEASE_TAGS.commit, value: release.commit });
  if (release.promotedFrom) tags.push({ key: RELEASE_TAGS.promotedFrom, value: release.promotedFrom });
  return tags;
}
