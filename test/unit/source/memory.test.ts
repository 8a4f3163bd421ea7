import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectEvery, collectGarbage } from '../../../shared/source/memory.ts';

describe('garbage collection helpers', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('do nothing when the process has no exposed gc', () => {
    vi.stubGlobal('gc', undefined);
    expect(() => collectGarbage()).not.toThrow();
  });

  it('collect once per interval of a growing counter', () => {
    const gc = vi.fn();
    vi.stubGlobal('gc', gc);
    const collect = collectEvery(10);
    for (const counter of [1, 5, 9]) collect(counter);
    expect(gc).not.toHaveBeenCalled();
    collect(10);
    collect(15);
    expect(gc).toHaveBeenCalledTimes(1);
    collect(25);
    expect(gc).toHaveBeenCalledTimes(2);
  });
});
