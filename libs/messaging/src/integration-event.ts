import { z } from 'zod';

/** Integration topics, one per bounded context; the suffix is the envelope's major version. */
export const TOPICS = {
  enrollment: 'trials.enrollment.v1',
  procedures: 'trials.procedures.v1',
  adverseEvents: 'trials.adverse-events.v1',
  adjudication: 'trials.adjudication.v1',
} as const;
export type IntegrationTopic = (typeof TOPICS)[keyof typeof TOPICS];

const TOPIC_NAMES = Object.values(TOPICS) as [IntegrationTopic, ...IntegrationTopic[]];

/** The dead-letter topic of a topic: where its poison messages go. */
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;

const STREAM_TOPICS: Record<string, IntegrationTopic> = {
  trial: TOPICS.enrollment,
  patient: TOPICS.enrollment,
  procedures: TOPICS.procedures,
  'adverse-event': TOPICS.adverseEvents,
  case: TOPICS.adjudication,
};

/**
 * The topic a stream publishes to, or undefined when it is never published (`unblinding/{t}`
 * records who saw unblinded results: internal oversight, not an integration fact). The outbox
 * trigger's msg_topic_for is the SQL twin of this function.
 */
export function topicForStream(streamId: string): IntegrationTopic | undefined {
  const family = streamId.split('/', 1)[0] ?? '';
  return Object.prototype.hasOwnProperty.call(STREAM_TOPICS, family) ? STREAM_TOPICS[family] : undefined;
}

export const INTEGRATION_SCHEMA = 'trials.integration.v1';

/**
 * Field names that must never leave for outside systems. Outside consumers (an EDC, a safety
 * database, a statistician's warehouse) sit outside the blind: `arm` is the randomised
 * allocation (PatientEnrolled.arm), and the `device` of a procedure (ProcedureRecorded.device)
 * gives the allocation away in a device trial (DCB vs PTA), which is why the adjudication
 * dossier never carries it either. A correction names a changed field in `changes[].field`
 * (PatientDataCorrected, AdverseEventCorrected), so a change whose field path starts with one of
 * these names is dropped too, otherwise `{field: 'arm', previous, value}` would leak both arms.
 * Kept on purpose: TrialRegistered.arms, the labels of the arms, which the protocol publishes;
 * they say nothing of which patient is in which. Free text (reasons, descriptions) cannot be
 * filtered by name: sites are trained not to name the device there.
 */
export const BLINDED_FIELDS: ReadonlySet<string> = new Set(['arm', 'device', 'devices']);

function isBlindedPath(path: string): boolean {
  return BLINDED_FIELDS.has(path.split('.', 1)[0] ?? '');
}

function isFieldChange(value: unknown): value is { field: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { field?: unknown }).field === 'string' &&
    'value' in value
  );
}

/** A deep copy of `value` without blinded fields (see BLINDED_FIELDS). */
export function stripBlinded(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.filter((item) => !(isFieldChange(item) && isBlindedPath(item.field))).map(stripBlinded);
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (!BLINDED_FIELDS.has(key)) out[key] = stripBlinded(item);
    return out;
  }
  return value;
}

/** True when `value` still holds a blinded field anywhere: such a message is refused at both ends. */
export function containsBlinded(value: unknown): boolean {
  if (Array.isArray(value)) return value.some((item) => (isFieldChange(item) && isBlindedPath(item.field)) || containsBlinded(item));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([key, item]) => BLINDED_FIELDS.has(key) || containsBlinded(item));
  }
  return false;
}

/**
 * The envelope of every integration event, version 1. `messageId` is the event id (consumers
 * deduplicate on it); `eventSchemaVersion` is the version of `data` for its `type`, which evolves
 * independently of the envelope; `actor` carries the user id only (the printed name and roles stay
 * inside the audit trail).
 */
export const IntegrationEventV1 = z
  .object({
    schema: z.literal(INTEGRATION_SCHEMA),
    messageId: z.guid(),
    topic: z.enum(TOPIC_NAMES),
    streamId: z.string().min(1).max(500),
    streamVersion: z.number().int().positive(),
    type: z.string().min(1).max(200),
    eventSchemaVersion: z.number().int().positive(),
    globalPosition: z.number().int().nonnegative(),
    recordedAt: z.iso.datetime(),
    data: z.record(z.string(), z.unknown()),
    actor: z.object({ userId: z.string().min(1).max(200) }).strict(),
    correlationId: z.string().min(1).max(200).optional(),
  })
  .strict()
  .superRefine((event, ctx) => {
    if (topicForStream(event.streamId) !== event.topic) {
      ctx.addIssue({ code: 'custom', path: ['topic'], message: `stream ${event.streamId} does not publish to ${event.topic}` });
    }
    if (containsBlinded(event.data)) ctx.addIssue({ code: 'custom', path: ['data'], message: 'carries a blinded field' });
  });
export type IntegrationEventV1 = z.infer<typeof IntegrationEventV1>;

/** What an outbox row holds of the event it captured. */
export interface CapturedEvent {
  topic: string;
  messageId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  globalPosition: number;
  recordedAt: string;
  data: unknown;
  metadata: unknown;
}

/** Builds and validates the published envelope of a captured event, blinded fields stripped. */
export function toIntegrationEvent(captured: CapturedEvent): IntegrationEventV1 {
  const metadata = (typeof captured.metadata === 'object' && captured.metadata !== null ? captured.metadata : {}) as {
    actor?: { userId?: unknown };
    correlationId?: unknown;
  };
  const candidate = {
    schema: INTEGRATION_SCHEMA,
    messageId: captured.messageId,
    topic: captured.topic,
    streamId: captured.streamId,
    streamVersion: captured.streamVersion,
    type: captured.type,
    eventSchemaVersion: captured.schemaVersion,
    globalPosition: captured.globalPosition,
    recordedAt: captured.recordedAt,
    data: stripBlinded(captured.data),
    actor: { userId: metadata.actor?.userId },
    ...(typeof metadata.correlationId === 'string' ? { correlationId: metadata.correlationId } : {}),
  };
  return IntegrationEventV1.parse(candidate);
}

/** Kafka header names carried by every integration message, so brokers' tools can route without parsing. */
export const HEADERS = {
  messageId: 'message-id',
  schema: 'schema',
  type: 'type',
  contentType: 'content-type',
} as const;
