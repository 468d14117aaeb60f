import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  adverseEventStream,
  caseStream,
  trialStream,
  type AdverseEventReported,
  type CaseEvent,
  type CaseOpened,
  type Outcome,
} from '@app/contracts';
import { FixedClock, PostgresEventStore, SequentialIds, eventStoreMigrations, openDataSource, type EventMetadata } from '@app/event-store';
import { untilSettled } from '../../../../libs/event-store/test/settled';
import { sign } from '../domain/e-signature';
import { CaseOpener } from '../infrastructure/case-opener';
import { adjudicationMigrations } from '../infrastructure/migrations';
import { CaseQueries, CasesProjection } from './cases';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const metadata: EventMetadata = { actor: { userId: 'u', name: 'U', roles: [] }, correlationId: 'c' };
const chair = { userId: 'chair', roles: ['cec-chair'] };
const reviewer = (userId: string) => ({ userId, roles: ['cec-reviewer'] });
const major: Outcome = {
  isEndpointEvent: true,
  kind: 'amputation',
  limb: 'index',
  onsetOn: '2026-02-01',
  amputation: { level: 'major', planned: false },
};
const minor: Outcome = { ...major, amputation: { level: 'minor', planned: false } };

const opened = (caseId: string, reportedAt: string): CaseEvent => {
  const data: CaseOpened = {
    trialId: 'T2',
    caseId,
    eventId: caseId,
    patientId: 'P',
    siteId: 'S1',
    charterVersion: 'default-1',
    report: {
      kind: 'amputation',
      onsetOn: '2026-02-01',
      limb: 'index',
      amputation: { level: 'major', planned: false },
      description: 'amputation',
    },
    sourceVersion: 1,
    reportedAt,
  };
  return { type: 'CaseOpened', data };
};
const assigned = (caseId: string, reviewerIds: string[]): CaseEvent => ({
  type: 'ReviewersAssigned',
  data: { caseId, round: 1, reviewerIds, assignedBy: 'chair' },
});
const reviewed = (caseId: string, reviewerId: string, outcome: Outcome): CaseEvent => ({
  type: 'ReviewSubmitted',
  data: {
    caseId,
    round: 1,
    reviewerId,
    outcome,
    rationale: 'operative note',
    signature: sign(
      { caseId, round: 1, outcome, rationale: 'operative note' },
      {
        signerId: reviewerId,
        printedName: reviewerId,
        meaning: 'review',
        signedAt: '2026-02-11T00:00:00.000Z',
        charterVersion: 'default-1',
      },
    ),
  },
});
const finalized = (caseId: string, finalizedAt: string): CaseEvent => ({
  type: 'CaseFinalized',
  data: { caseId, round: 1, outcome: major, basis: 'concordant-reviews', charterVersion: 'default-1', finalizedAt },
});

/** The cases read model on a real database: given case events, when a query, then its rows. */
describe.each(backends)('cases read model on %s', (_name, databaseUrl) => {
  let dataSource: DataSource;
  let store: PostgresEventStore;
  let opener: CaseOpener;
  let projection: CasesProjection;
  let queries: CaseQueries;

  beforeAll(async () => {
    dataSource = await openDataSource({
      databaseUrl,
      dataDir: databaseUrl ? undefined : 'memory://',
      schema: databaseUrl ? `adj_cases_${randomBytes(4).toString('hex')}` : undefined,
      migrations: [...eventStoreMigrations, ...adjudicationMigrations],
    });
  });
  afterAll(async () => {
    if (databaseUrl) await dataSource.query(`DROP SCHEMA IF EXISTS ${(dataSource.options as { schema?: string }).schema} CASCADE`);
    await dataSource.destroy();
  });

  // Each test its own trial; the subscriptions' checkpoints carry over, as after a restart.
  beforeEach(() => {
    store = new PostgresEventStore(
      dataSource,
      new FixedClock(new Date('2026-02-02T00:00:00.000Z')),
      new SequentialIds(randomBytes(4).toString('hex')),
    );
    opener = new CaseOpener(store, dataSource);
    projection = new CasesProjection(store, dataSource);
    queries = new CaseQueries(store, dataSource, new FixedClock(new Date('2026-03-01T00:00:00.000Z')), opener, projection);
  });
  afterEach(async () => {
    await opener.subscription.stop();
    await projection.subscription.stop();
  });

  it('lists and shows a case right after its adverse event is reported: requests wait, the subscriptions run', async () => {
    opener.onApplicationBootstrap();
    projection.onApplicationBootstrap();
    await store.appendToStream(trialStream('T'), [
      { type: 'TrialRegistered', data: { trialId: 'T', title: 't', protocolVersion: '1', arms: [] }, metadata },
    ]);
    await store.appendToStream(trialStream('T'), [
      { type: 'CharterVersionPublished', data: { trialId: 'T', version: '3', endpoints: [] }, metadata },
    ]);
    const report: AdverseEventReported = {
      trialId: 'T',
      patientId: 'P',
      siteId: 'S1',
      eventId: 'E1',
      kind: 'death',
      onsetOn: '2026-02-01',
      description: 'death',
    };
    await store.appendToStream(adverseEventStream('T', 'E1'), [{ type: 'AdverseEventReported', data: report, metadata }]);

    expect(await queries.list('T', { eventId: 'E1' }, chair)).toEqual([
      expect.objectContaining({ caseId: 'E1', status: 'awaiting-assignment', kind: 'death', round: 1 }),
    ]);
    expect(await queries.view('T', 'E1', chair)).toMatchObject({ caseId: 'E1', charterVersion: '3', report: { kind: 'death' } });
  });

  it('answers listings, worklists and committee metrics from the projected rows', async () => {
    const given: Array<[string, CaseEvent[]]> = [
      [
        'C1',
        [
          opened('C1', '2026-02-01T00:00:00.000Z'),
          assigned('C1', ['rev-a', 'rev-b']),
          reviewed('C1', 'rev-a', major),
          reviewed('C1', 'rev-b', major),
          finalized('C1', '2026-02-11T00:00:00.000Z'),
        ],
      ],
      [
        'C2',
        [
          opened('C2', '2026-02-02T00:00:00.000Z'),
          assigned('C2', ['rev-a', 'rev-b']),
          reviewed('C2', 'rev-a', major),
          reviewed('C2', 'rev-b', minor),
        ],
      ],
      ['C3', [opened('C3', '2026-02-25T00:00:00.000Z'), assigned('C3', ['rev-a', 'rev-c'])]],
      ['C4', [opened('C4', '2026-02-26T00:00:00.000Z')]],
    ];
    for (const [caseId, events] of given)
      await store.appendToStream(
        caseStream('T2', caseId),
        events.map((e) => ({ ...e, metadata })),
      );
    await untilSettled(store);
    await projection.subscription.catchUp();

    expect((await queries.list('T2', {}, chair)).map((c) => [c.caseId, c.status])).toEqual([
      ['C1', 'finalized'],
      ['C2', 'awaiting-resolution'],
      ['C3', 'in-review'],
      ['C4', 'awaiting-assignment'],
    ]);
    expect((await queries.list('T2', { status: 'in-review' }, chair)).map((c) => c.caseId)).toEqual(['C3']);
    expect((await queries.list('T2', {}, reviewer('rev-c'))).map((c) => c.caseId)).toEqual(['C3']);
    expect(await queries.worklist('T2', reviewer('rev-c'))).toEqual([expect.objectContaining({ caseId: 'C3', action: 'review' })]);
    expect((await queries.worklist('T2', reviewer('rev-c')))[0]).not.toHaveProperty('reviewerIds');
    expect((await queries.worklist('T2', chair)).map((w) => [w.caseId, w.action])).toEqual([
      ['C2', 'resolve'],
      ['C4', 'assign'],
    ]);
    expect(await queries.metrics('T2')).toEqual({
      openCases: 3,
      openCasesByAge: { '0-7': 2, '8-30': 1, '31-90': 0, '>90': 0 },
      finalizedCases: 1,
      medianDaysToFinalDecision: 10,
      reviewerAgreement: { pairs: 2, agreementRate: 0.5, kappaIsEndpointEvent: 1 },
    });
    expect(await queries.list('other-trial', {}, chair)).toEqual([]);
  });
});
