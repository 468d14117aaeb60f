import {
  containsBlinded,
  IntegrationEventV1,
  stripBlinded,
  toIntegrationEvent,
  topicForStream,
  TOPICS,
  type CapturedEvent,
} from './integration-event';
import { backoffDelay } from './outbox-relay';

const captured = (overrides: Partial<CapturedEvent> = {}): CapturedEvent => ({
  topic: TOPICS.enrollment,
  messageId: '00000000-0000-4000-8000-000000000001',
  streamId: 'patient/T1/P1',
  streamVersion: 1,
  type: 'PatientEnrolled',
  schemaVersion: 1,
  globalPosition: 7,
  recordedAt: '2025-01-02T03:04:05.678Z',
  data: { trialId: 'T1', patientId: 'P1', siteId: 'S01', arm: 'DCB', baseline: { ageYears: 70 } },
  metadata: { actor: { userId: 'u1', name: 'Dr. Jane Roe', roles: ['site-investigator'] }, correlationId: 'c-1', reason: 'x' },
  ...overrides,
});

describe('topics', () => {
  it.each([
    ['trial/T1', TOPICS.enrollment],
    ['patient/T1/P1', TOPICS.enrollment],
    ['procedures/T1/P1', TOPICS.procedures],
    ['adverse-event/T1/E1', TOPICS.adverseEvents],
    ['case/T1/C1', TOPICS.adjudication],
  ])('%s publishes to %s', (streamId, topic) => {
    expect(topicForStream(streamId)).toBe(topic);
  });

  it.each(['unblinding/T1', 'trials/T1', 'constructor/x', 'toString', ''])('%s is never published', (streamId) => {
    expect(topicForStream(streamId)).toBeUndefined();
  });
});

describe('blinding', () => {
  it('strips arm and device at any depth, and corrections of them, keeping the arm labels of the trial', () => {
    const data = {
      arms: ['DCB', 'PTA'],
      arm: 'DCB',
      device: { kind: 'DCB', name: 'X' },
      nested: { devices: [{ kind: 'DCB' }], keep: 1, list: [{ arm: 'PTA', id: 'a' }] },
      changes: [
        { field: 'arm', previous: 'DCB', value: 'PTA' },
        { field: 'device.name', previous: 'X', value: 'Y' },
        { field: 'baseline.ageYears', previous: 70, value: 71 },
      ],
    };
    expect(stripBlinded(data)).toEqual({
      arms: ['DCB', 'PTA'],
      nested: { keep: 1, list: [{ id: 'a' }] },
      changes: [{ field: 'baseline.ageYears', previous: 70, value: 71 }],
    });
    expect(containsBlinded(data)).toBe(true);
    expect(containsBlinded(stripBlinded(data))).toBe(false);
  });

  it('leaves the input untouched', () => {
    const data = { arm: 'DCB' };
    stripBlinded(data);
    expect(data).toEqual({ arm: 'DCB' });
  });
});

describe('IntegrationEventV1', () => {
  it('builds the envelope: blinded fields gone, actor reduced to the user id, correlation id kept', () => {
    const event = toIntegrationEvent(captured());
    expect(event).toEqual({
      schema: 'trials.integration.v1',
      messageId: '00000000-0000-4000-8000-000000000001',
      topic: 'trials.enrollment.v1',
      streamId: 'patient/T1/P1',
      streamVersion: 1,
      type: 'PatientEnrolled',
      eventSchemaVersion: 1,
      globalPosition: 7,
      recordedAt: '2025-01-02T03:04:05.678Z',
      data: { trialId: 'T1', patientId: 'P1', siteId: 'S01', baseline: { ageYears: 70 } },
      actor: { userId: 'u1' },
      correlationId: 'c-1',
    });
  });

  it('refuses an event without an actor, on the wrong topic, or with a non-object payload', () => {
    expect(() => toIntegrationEvent(captured({ metadata: {} }))).toThrow(/actor/);
    expect(() => toIntegrationEvent(captured({ topic: TOPICS.procedures }))).toThrow(/does not publish/);
    expect(() => toIntegrationEvent(captured({ data: null }))).toThrow();
  });

  it('refuses an envelope that still carries a blinded field', () => {
    const event = { ...toIntegrationEvent(captured()), data: { nested: { device: { kind: 'DCB' } } } };
    const result = IntegrationEventV1.safeParse(event);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('carries a blinded field');
  });

  it('refuses unknown envelope fields (the schema is versioned, not open)', () => {
    expect(IntegrationEventV1.safeParse({ ...toIntegrationEvent(captured()), extra: 1 }).success).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('doubles per consecutive failure up to the cap', () => {
    expect([0, 1, 2, 3, 4, 10, 100].map((n) => backoffDelay(n, 100, 1000))).toEqual([0, 100, 200, 400, 800, 1000, 1000]);
  });
});
