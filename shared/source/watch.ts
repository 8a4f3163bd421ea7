/**
 * Which pushes concern a monorepo app: its `watchPaths` globs (default `<path>/**` with a
 * `path`, every file without), matched against repository paths. Pure.
 */
import { minimatch } from 'minimatch';
import type { AppConfig } from '#shared/config.ts';

/** The app's globs, or undefined when every path of the repository concerns it. */
export function watchGlobs(app: Pick<AppConfig, 'path' | 'watchPaths'>): readonly string[] | undefined {
  if (app.watchPaths) return app.watchPaths;
  return app.path ? [`${app.path}/**`] : undefined;
}

/**
 * A test of repository paths against `globs`: dot files count (`.github/…`, `.env.example`),
 * and a glob naming a folder without a wildcard also covers what is inside it.
 */
export function pathMatcher(globs: readonly string[]): (path: string) => boolean {
  const patterns = globs.map((g) => g.replace(/^\.\/+/, ''));
  return (path) =>
    patterns.some(
      (pattern) =>
        minimatch(path, pattern, { dot: true }) ||
        (!/[*?[{]/.test(pattern) && path.startsWith(`${pattern.replace(/\/+$/, '')}/`)),
    );
}

/** Up to `limit` paths, quoted and joined, with how many more there were: for reasons and logs. */
export function samplePaths(paths: readonly string[], limit = 3): string {
  const shown = paths.slice(0, limit).join(', ');
  return paths.length > limit ? `${shown} and ${paths.length - limit} more` : shown;
}
