/**
 * The stream-id grammar, the one place that writes and reads it. A trial's log is made of
 * single streams `{family}/{trialId}` and entity streams `{family}/{trialId}/{entityId}`;
 * ids never contain `/` (they match `[A-Za-z0-9._-]`).
 */

export const SINGLE_STREAM_FAMILIES = ['trial', 'unblinding', 'document-access', 'data-cuts'] as const;
export const ENTITY_STREAM_FAMILIES = ['patient', 'procedures', 'adverse-event', 'case'] as const;

export type SingleStreamFamily = (typeof SINGLE_STREAM_FAMILIES)[number];
export type EntityStreamFamily = (typeof ENTITY_STREAM_FAMILIES)[number];

export type StreamName =
  { family: SingleStreamFamily; trialId: string; entityId?: undefined } | { family: EntityStreamFamily; trialId: string; entityId: string };

export const trialStream = (trialId: string) => `trial/${trialId}`;
export const unblindingStream = (trialId: string) => `unblinding/${trialId}`;
/** Every DSMB data cut of a trial, in one stream: a cut id is unique per trial and `replaces` names one before it. */
export const dataCutsStream = (trialId: string) => `data-cuts/${trialId}`;
/** Every read of a document's bytes (api.md: every download is in the audit trail). */
export const documentAccessStream = (trialId: string) => `document-access/${trialId}`;
export const patientStream = (trialId: string, patientId: string) => `patient/${trialId}/${patientId}`;
export const proceduresStream = (trialId: string, patientId: string) => `procedures/${trialId}/${patientId}`;
export const adverseEventStream = (trialId: string, eventId: string) => `adverse-event/${trialId}/${eventId}`;
export const caseStream = (trialId: string, caseId: string) => `case/${trialId}/${caseId}`;

const isSingle = (family: string): family is SingleStreamFamily => (SINGLE_STREAM_FAMILIES as readonly string[]).includes(family);
const isEntity = (family: string): family is EntityStreamFamily => (ENTITY_STREAM_FAMILIES as readonly string[]).includes(family);

/** The family, trial and entity of a stream id; undefined for an id outside the grammar. */
export function parseStreamId(streamId: string): StreamName | undefined {
  const parts = streamId.split('/');
  const [family, trialId, entityId] = parts;
  if (!family || !trialId) return undefined;
  if (parts.length === 2 && isSingle(family)) return { family, trialId };
  if (parts.length === 3 && entityId && isEntity(family)) return { family, trialId, entityId };
  return undefined;
}

/** The trial a stream belongs to, else undefined. */
export function trialOfStream(streamId: string): string | undefined {
  return parseStreamId(streamId)?.trialId;
}

/** True when `streamId` belongs to the log of trial `trialId` (exact segment match, no prefix bleed). */
export function isTrialStream(streamId: string, trialId: string): boolean {
  return trialId !== '' && trialOfStream(streamId) === trialId;
}
