export { BLOB_STORE } from './blob-store.port';
export type { AcceptedMediaType, BlobStore, StagedBlob } from './blob-store.port';
