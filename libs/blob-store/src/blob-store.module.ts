import { type DynamicModule, Global, Inject, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { BLOB_STORE, type BlobStore } from './blob-store.port';
import { parseBlobStoreLocation, type BlobStoreEnvironment } from './blob-store.config';
import { PostgresBlobStore } from './postgres/postgres-blob-store';
import { S3BlobStore } from './s3/s3-blob-store';

export interface BlobStoreModuleOptions {
  env: BlobStoreEnvironment;
  /** The event store's DataSource: the PostgreSQL store keeps the bytes next to the events. */
  dataSource: DataSource;
}

/**
 * The store BLOB_STORE selects, with uploads a crashed process left staged swept away (they were
 * never readable; this frees their space).
 */
export async function createBlobStore({ env, dataSource }: BlobStoreModuleOptions): Promise<PostgresBlobStore | S3BlobStore> {
  let location;
  try {
    location = parseBlobStoreLocation(env.BLOB_STORE);
  } catch (error) {
    throw new Error(`Invalid configuration: BLOB_STORE ${(error as Error).message}`, { cause: error });
  }
  const store =
    location.kind === 'postgres'
      ? new PostgresBlobStore(dataSource)
      : new S3BlobStore({
          bucket: location.bucket,
          prefix: location.prefix,
          endpoint: env.S3_ENDPOINT,
          region: env.S3_REGION ?? 'us-east-1',
          accessKeyId: env.S3_ACCESS_KEY_ID,
          secretAccessKey: env.S3_SECRET_ACCESS_KEY,
          forcePathStyle: env.S3_FORCE_PATH_STYLE ?? false,
        });
  await store.sweepStaging();
  return store;
}

const BLOB_STORE_OPTIONS = Symbol('BLOB_STORE_OPTIONS');

@Injectable()
class BlobStoreLifecycle implements OnModuleDestroy {
  constructor(@Inject(BLOB_STORE) private readonly store: BlobStore) {}

  onModuleDestroy(): void {
    if (this.store instanceof S3BlobStore) this.store.destroy();
  }
}

/** Provides BLOB_STORE to every module of the process (`@Inject(BLOB_STORE) store: BlobStore`). */
@Global()
@Module({})
export class BlobStoreModule {
  static forRootAsync(options: {
    inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
    useFactory: (...deps: never[]) => BlobStoreModuleOptions | Promise<BlobStoreModuleOptions>;
  }): DynamicModule {
    return {
      module: BlobStoreModule,
      providers: [
        { provide: BLOB_STORE_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        { provide: BLOB_STORE, inject: [BLOB_STORE_OPTIONS], useFactory: createBlobStore },
        BlobStoreLifecycle,
      ],
      exports: [BLOB_STORE],
    };
  }
}
