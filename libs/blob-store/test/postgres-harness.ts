import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { openDataSource } from '@app/event-store';
import { BlobStore1764000001500, PostgresBlobStore } from '../src';
import type { BlobStoreHarness } from './blob-store.contract';

/** A store on a fresh PGlite instance, or in a fresh schema of the server at `databaseUrl`. */
export async function postgresBlobHarness(
  databaseUrl?: string,
  dataDir?: string,
): Promise<BlobStoreHarness & { dataSource: DataSource; store: PostgresBlobStore }> {
  const schema = databaseUrl ? `blob_contract_${randomBytes(4).toString('hex')}` : undefined;
  const dataSource = await openDataSource({ databaseUrl, dataDir, schema, migrations: [BlobStore1764000001500] });
  const count = async (table: string) => Number((await dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
  return {
    dataSource,
    store: new PostgresBlobStore(dataSource),
    counts: async () => ({ staged: await count('blob_staging'), stored: await count('blob_contents') }),
    close: async () => {
      if (schema) await dataSource.query(`DROP SCHEMA ${schema} CASCADE`);
      await dataSource.destroy();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
