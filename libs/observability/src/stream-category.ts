/**
 * The family of a stream, for metric labels: `patient/T1/P7` → `patient`. A stream id without a
 * family prefix is `other`, so arbitrary ids never become label values (unbounded cardinality).
 */
export function streamCategory(streamId: string): string {
  const slash = streamId.indexOf('/');
  return slash > 0 ? streamId.slice(0, slash) : 'other';
}
