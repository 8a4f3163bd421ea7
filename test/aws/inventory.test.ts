/**
 * The suite's inventory of production AWS calls is the code's: every SDK command the sources
 * under `shared/` and `functions/` import is in it (so the run's summary can tell one that was
 * never checked on moto), and nothing in it is gone from the code.
 */
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectToMoto, motoEndpoint } from './support/connect.ts';
import { INVENTORY, importedCommands, inventoryKey } from './support/inventory.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe.skipIf(!motoEndpoint())('the inventory of production AWS calls', () => {
  connectToMoto(basename(import.meta.filename));

  it('lists every command the production code imports, and only those (plus what libraries send for it)', () => {
    const imported = importedCommands(ROOT);
    const listed = new Set(INVENTORY.filter((e) => !e.via).map(inventoryKey));
    expect(
      [...imported.keys()].filter((key) => !listed.has(key)),
      'imported but not in the inventory',
    ).toEqual([]);
    expect(
      [...listed].filter((key) => !imported.has(key)),
      'in the inventory but no longer imported',
    ).toEqual([]);
  });
});
