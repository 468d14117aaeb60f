/** Injection token under which a messaging relay offers its backlog to the metrics. */
export const OUTBOX_BACKLOG = Symbol('OUTBOX_BACKLOG');

/** Messages written to the transactional outbox and not yet published. */
export interface OutboxBacklog {
  backlog(): Promise<number>;
}
