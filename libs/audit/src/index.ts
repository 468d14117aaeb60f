export { AuditModule } from './audit.module';
export { AuditController } from './audit.controller';
export { auditPage, isTrialStream, matchesAuditFilter, readTrialLog, toAuditItem } from './trial-log';
export type { AuditFilter, AuditItem, AuditPage } from './trial-log';
export {
  ManifestBuilder,
  ROOT_HASH_ALGORITHM,
  buildManifest,
  compareDeliveryOrder,
  eventLine,
  exportLines,
  nextRootHash,
  verifyExport,
} from './export-format';
export type { ExportEventLine, ExportManifest, ExportVerification } from './export-format';
export { ImportRefusedError, importEvents, importExport, manifestFromStore, storeIsEmpty } from './import-log';
export { checkDocuments, documentsOf } from './documents';
export type { CheckedFile, DocumentCheck, DocumentReference } from './documents';
