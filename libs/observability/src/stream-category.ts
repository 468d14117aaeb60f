import { parseStreamId } from '@app/contracts';

/**
 * The family of a stream, for metric labels: `patient/T1/P7` → `patient`. An id outside the
 * stream-id grammar is `other`, so arbitrary ids never become label values (unbounded cardinality).
 */
export function streamCategory(streamId: string): string {
  return parseStreamId(streamId)?.family ?? 'other';
}
