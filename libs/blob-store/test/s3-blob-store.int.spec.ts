import { randomBytes } from 'node:crypto';
import { parseBlobStoreLocation, S3BlobStore } from '../src';
import { describeBlobStoreContract } from './blob-store.contract';

const endpoint = process.env.S3_ENDPOINT;
if (endpoint) {
  // BLOB_STORE names the bucket (default s3://blobs); each run writes under a prefix of its own.
  const location = parseBlobStoreLocation(process.env.BLOB_STORE ?? 's3://blobs');
  if (location.kind !== 's3') throw new Error('BLOB_STORE must be s3://bucket[/prefix] for the S3 contract suite');
  describeBlobStoreContract(`S3 at ${endpoint}`, async () => {
    const store = new S3BlobStore({
      bucket: location.bucket,
      prefix: `${location.prefix}contract-${randomBytes(4).toString('hex')}/`,
      endpoint,
      region: process.env.S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.S3_ACCESS_KEY_ID,
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY,
      forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    });
    return {
      store,
      counts: async () => ({ staged: (await store.list('staging')).length, stored: (await store.list('sha256')).length }),
      close: async () => store.destroy(),
    };
  });
} else {
  it('S3 blob store contract', () => {
    console.log('skipped: no S3 endpoint (set S3_ENDPOINT to run the S3 blob store contract suite)');
  });
}
