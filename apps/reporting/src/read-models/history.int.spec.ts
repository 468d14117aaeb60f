import { randomBytes } from 'node:crypto';
import type { DataSource, MigrationInterface } from 'typeorm';
import {
  adverseEventStream,
  caseStream,
  patientStream,
  proceduresStream,
  trialStream,
  unblindingStream,
  type AdverseEventEvent,
  type CaseEvent,
  type PatientEvent,
  type ProcedureEvent,
  type TrialEvent,
} from '@app/contracts';
import { FixedClock, PostgresEventStore, SequentialIds, eventStoreMigrations, openDataSource, type RecordedEvent } from '@app/event-store';
import { ProblemException } from '@app/http';
import { untilSettled } from '../../../../libs/event-store/test/settled';
import { defaultCharter } from '../domain/default-charter';
import { computeEndpointReport } from '../domain/endpoint-report';
import type { ReportQuery } from '../domain/history-snapshot';
import { replayReportInput } from '../domain/replay';
import { ReportingOwnFacts1764000000900 } from '../infrastructure/migrations/1764000000900-reporting-own-facts';
import { ChartersCensoring1764000001000 } from '../infrastructure/migrations/1764000001000-charter-censoring';
import { reportingMigrations } from '../infrastructure/migrations/reporting-migrations';
import { CLOSE_CURRENT_FACTS, CURRENT_FACTS, GetReportInput, GetReportInputHandler, HistoryProjection } from './history';

const backends: Array<[string, string | undefined]> = [['PGlite', undefined]];
if (process.env.DATABASE_URL) backends.push(['PostgreSQL', process.env.DATABASE_URL]);

const T = 'RPT-1';
const U = 'OTHER-1';
const START = Date.parse('2026-02-01T08:00:00.000Z');
const HOUR = 3_600_000;

type Published = TrialEvent | PatientEvent | ProcedureEvent | AdverseEventEvent | CaseEvent;

const baseline = (diabetes: boolean, presentation: 'claudication' | 'cli') => ({
  ageYears: 71,
  sex: 'M' as const,
  diabetes,
  presentation,
  rutherfordClass: 4,
});
const enrol = (
  trialId: string,
  patientId: string,
  siteId: string,
  arm: string,
  diabetes: boolean,
  presentation: 'claudication' | 'cli',
): [string, Published] => [
  patientStream(trialId, patientId),
  {
    type: 'PatientEnrolled',
    data: { trialId, patientId, siteId, enrolledOn: '2025-01-06', arm, baseline: baseline(diabetes, presentation) },
  },
];
const indexProcedure = (patientId: string, segments: Array<'femoropopliteal' | 'btk'>): [string, Published] => [
  proceduresStream(T, patientId),
  {
    type: 'ProcedureRecorded',
    data: {
      trialId: T,
      patientId,
      procedureId: 'IDX',
      performedOn: '2025-01-08',
      limb: 'left',
      device: { kind: 'DCB', name: 'D' },
      lesions: segments.map((segment) => ({ segment, lengthMm: 80, occlusion: false })),
      technicalSuccess: true,
      index: true,
    },
  },
];
const visit = (patientId: string, visitId: string, visitOn: string): [string, Published] => [
  patientStream(T, patientId),
  { type: 'VisitRecorded', data: { trialId: T, patientId, visitId, visit: 'unscheduled', visitOn } },
];
const adverseEvent = (patientId: string, eventId: string, report: Record<string, unknown>): [string, Published] => [
  adverseEventStream(T, eventId),
  { type: 'AdverseEventReported', data: { trialId: T, patientId, siteId: 'S1', eventId, description: 'as reported', ...report } as never },
];
const caseOpened = (patientId: string, eventId: string): [string, Published] => [
  caseStream(T, eventId),
  {
    type: 'CaseOpened',
    data: {
      trialId: T,
      caseId: eventId,
      eventId,
      patientId,
      siteId: 'S1',
      charterVersion: 'default-1',
      report: {} as never,
      sourceVersion: 1,
      reportedAt: '2026-02-01T10:00:00.000Z',
    },
  },
];
const finalized = (eventId: string, outcome: Record<string, unknown>): [string, Published] => [
  caseStream(T, eventId),
  {
    type: 'CaseFinalized',
    data: {
      caseId: eventId,
      round: 1,
      outcome: outcome as never,
      basis: 'concordant-reviews',
      charterVersion: 'default-1',
      finalizedAt: '2026-02-02T10:00:00.000Z',
    },
  },
];

/**
 * A trial's log in steps, each an hour after the last (knowledge time), interleaved with another
 * trial's: enrolments, index procedures, visits, adverse events with their cases, a patient data
 * correction, an adverse-event correction that changes the kind, a retraction, a withdrawal and a
 * charter version.
 */
const steps: Array<Array<[string, Published | { type: string; data: unknown }]>> = [
  [
    [trialStream(T), { type: 'TrialRegistered', data: { trialId: T, title: 'Reporting', protocolVersion: '1', arms: ['DCB', 'PTA'] } }],
    [trialStream(U), { type: 'TrialRegistered', data: { trialId: U, title: 'Other', protocolVersion: '1', arms: ['DCB', 'PTA'] } }],
  ],
  [enrol(T, 'P1', 'S1', 'DCB', false, 'cli'), enrol(T, 'P2', 'S1', 'PTA', true, 'claudication'), enrol(U, 'P1', 'S9', 'PTA', true, 'cli')],
  [
    enrol(T, 'P3', 'S2', 'PTA', true, 'cli'),
    enrol(T, 'P4', 'S2', 'DCB', false, 'cli'),
    indexProcedure('P1', ['btk']),
    indexProcedure('P2', ['femoropopliteal']),
  ],
  [
    indexProcedure('P3', ['btk', 'femoropopliteal']),
    indexProcedure('P4', ['femoropopliteal']),
    visit('P1', 'V1', '2025-02-08'),
    visit('P2', 'V1', '2025-02-09'),
    visit('P4', 'V1', '2025-03-01'),
  ],
  [
    adverseEvent('P1', 'E1', { kind: 'amputation', onsetOn: '2025-03-10', limb: 'index', amputation: { level: 'major', planned: false } }),
    adverseEvent('P2', 'E2', { kind: 'tvr', onsetOn: '2025-02-20', limb: 'index', tvr: { clinicallyDriven: true } }),
    adverseEvent('P3', 'E3', { kind: 'amputation', onsetOn: '2025-04-01', limb: 'index', amputation: { level: 'minor', planned: false } }),
    adverseEvent('P4', 'E5', { kind: 'other', onsetOn: '2025-03-15' }),
  ],
  [
    caseOpened('P1', 'E1'),
    caseOpened('P2', 'E2'),
    caseOpened('P3', 'E3'),
    visit('P3', 'V1', '2025-05-02'),
    [unblindingStream(T), { type: 'UnblindedResultsViewed', data: { trialId: T } }],
  ],
  [
    finalized('E1', { isEndpointEvent: true, kind: 'amputation', limb: 'index', amputation: { level: 'major', planned: false } }),
    finalized('E2', { isEndpointEvent: false, kind: 'none' }),
  ],
  [
    [
      patientStream(T, 'P2'),
      {
        type: 'PatientDataCorrected',
        data: {
          trialId: T,
          patientId: 'P2',
          reason: 'SDV',
          changes: [
            { field: 'baseline.diabetes', previous: true, value: false },
            { field: 'baseline.ageYears', previous: 71, value: 72 },
          ],
        },
      },
    ],
    [
      adverseEventStream(T, 'E3'),
      {
        type: 'AdverseEventCorrected',
        data: {
          trialId: T,
          patientId: 'P3',
          eventId: 'E3',
          reason: 'was a TVR',
          changes: [
            { field: 'kind', previous: 'amputation', value: 'tvr' },
            { field: 'tvr.clinicallyDriven', previous: null, value: true },
            { field: 'amputation', previous: { level: 'minor', planned: false }, value: null },
          ],
        },
      },
    ],
    [caseStream(T, 'E3'), { type: 'CaseReopened', data: { caseId: 'E3', round: 2, reason: 'corrected', trigger: 'correction' } }],
  ],
  [
    adverseEvent('P4', 'E4', { kind: 'death', onsetOn: '2025-06-01' }),
    adverseEvent('P4', 'E6', { kind: 'amputation', onsetOn: '2025-05-01', limb: 'index', amputation: { level: 'major', planned: false } }),
    [
      patientStream(T, 'P3'),
      { type: 'PatientWithdrawn', data: { trialId: T, patientId: 'P3', withdrawnOn: '2025-06-15', reason: 'moved away' } },
    ],
  ],
  [
    caseOpened('P4', 'E4'),
    [
      adverseEventStream(T, 'E6'),
      { type: 'AdverseEventRetracted', data: { trialId: T, patientId: 'P4', eventId: 'E6', reason: 'wrong patient' } },
    ],
    [
      trialStream(T),
      // A rule other than the default: reports before it censor P3's withdrawal at its date, after it at the last contact.
      {
        type: 'CharterVersionPublished',
        data: { trialId: T, version: 'c2', endpoints: defaultCharter().endpoints.slice(1, 4), censoring: { withdrawal: 'last-contact' } },
      },
    ],
    visit('P1', 'V2', '2025-07-01'),
  ],
];

/** Keys an enrollment or adverse-events decider state has and reporting's shapes never do. */
const FOREIGN_KEYS = ['status', 'visits', 'baseline', 'state', 'withdrawal', 'description', 'trialId'];

function keysDeep(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysDeep(item, into);
  else if (value && typeof value === 'object') {
    for (const [key, nested] of Object.entries(value)) {
      into.add(key);
      keysDeep(nested, into);
    }
  }
  return into;
}

describe.each(backends)('history read model on %s', (_name, databaseUrl) => {
  let dataSource: DataSource;
  let clock: FixedClock;
  let store: PostgresEventStore;

  async function open(migrations: Array<new () => MigrationInterface>): Promise<void> {
    const schema = databaseUrl ? `rpt_h_${randomBytes(4).toString('hex')}` : undefined;
    dataSource = await openDataSource({
      databaseUrl,
      dataDir: databaseUrl ? undefined : 'memory://',
      schema,
      migrations: [...eventStoreMigrations, ...migrations],
    });
    clock = new FixedClock(new Date(START));
    store = new PostgresEventStore(dataSource, clock, new SequentialIds());
  }

  afterEach(async () => {
    if (databaseUrl) await dataSource.query(`DROP SCHEMA IF EXISTS ${(dataSource.options as { schema?: string }).schema} CASCADE`);
    await dataSource.destroy();
  });

  /** given: the log, appended step by step; the clock then moves on, so every past instant is settled. */
  async function given(): Promise<RecordedEvent[]> {
    for (const [i, step] of steps.entries()) {
      clock.set(new Date(START + i * HOUR));
      for (const [streamId, event] of step) await store.appendToStream(streamId, [event]);
    }
    clock.set(new Date(START + 10 * 24 * HOUR));
    await untilSettled(store);
    return (await store.readAll({ maxCount: 1000 })).events;
  }

  /** Queries at the latest knowledge, at positions and instants between the steps, by several groupings and both bases. */
  function queriesOf(log: RecordedEvent[]): ReportQuery[] {
    const mine = log.filter((e) => e.streamId.split('/')[1] === T);
    const positions = [mine[3]!, mine[12]!, mine[20]!, mine.at(-1)!].map((e) => e.globalPosition);
    const instants = [-1, 2, 5, 7, 20].map((i) => new Date(START + i * HOUR + HOUR / 2).toISOString());
    return [
      { basis: 'adjudicated', groupBy: [] },
      { basis: 'adjudicated', groupBy: ['arm', 'diabetes'] },
      { basis: 'site-reported', groupBy: ['segment', 'site'] },
      { basis: 'site-reported', groupBy: ['presentation'], cutoff: '2025-05-20' },
      ...positions.map((asOfPosition): ReportQuery => ({ asOfPosition, basis: 'adjudicated', groupBy: ['arm'] })),
      ...instants.map((asOf): ReportQuery => ({ asOf, basis: 'site-reported', groupBy: ['diabetes'] })),
    ];
  }

  /** then: each report from the read model is, byte for byte, the one `trialctl replay` folds from the log. */
  async function expectReportsAsReplayed(reports: GetReportInputHandler, log: RecordedEvent[]): Promise<void> {
    for (const query of queriesOf(log)) {
      const api = JSON.stringify(computeEndpointReport(await reports.execute(new GetReportInput(T, query))));
      const replayed = JSON.stringify(computeEndpointReport(replayReportInput(T, log, query, defaultCharter())));
      expect({ query, report: api }).toEqual({ query, report: replayed });
    }
  }

  const currentFacts = async () =>
    Object.fromEntries(
      (
        await dataSource.query<
          Array<{
            kind: string;
            entity_id: string;
            facts: unknown;
          }>
        >(`SELECT kind, entity_id, facts FROM rpt_facts WHERE trial_id = $1 AND to_seq IS NULL ORDER BY kind, entity_id`, [T])
      ).map((r) => [`${r.kind}/${r.entity_id}`, r.facts]),
    );

  async function expectOnlyReportingShapes(): Promise<void> {
    const rows = await dataSource.query<Array<{ kind: string; facts: Record<string, unknown> }>>(`SELECT kind, facts FROM rpt_facts`);
    expect(rows.length).toBeGreaterThan(0);
    const own: Record<string, string[]> = {
      patient: ['enrolment', 'indexProcedure', 'patientId'],
      'adverse-event': ['adjudication', 'eventId', 'patientId', 'report', 'retracted'],
      charter: ['censoring', 'endpoints', 'version'],
    };
    for (const row of rows) {
      for (const key of Object.keys(row.facts))
        expect({ kind: row.kind, key, own: own[row.kind]?.includes(key) }).toEqual({ kind: row.kind, key, own: true });
    }
    // A charter's `censoring: {withdrawal}` is api.md's published charter, not enrollment's `withdrawal` state.
    for (const row of rows.filter((r) => r.kind === 'charter')) expect(Object.keys(row.facts.censoring ?? {})).toEqual(['withdrawal']);
    const everyKey = keysDeep(rows.map((r) => (r.kind === 'charter' ? { ...r.facts, censoring: undefined } : r.facts)));
    for (const foreign of FOREIGN_KEYS) expect({ foreign, stored: everyKey.has(foreign) }).toEqual({ foreign, stored: false });
  }

  it('reads and closes a batch’s current facts by a key lookup per entity, even on statistics far behind the table', async () => {
    // bench:http: joined to unnest(...), both statements hashed every current row of rpt_facts (5,200 read
    // for 30 wanted), because the busy table's statistics said it held a few dozen.
    await open(reportingMigrations);
    const facts = (from: number, count: number, entities: number, closedUpTo: number) =>
      dataSource.query(
        `INSERT INTO rpt_facts (trial_id, kind, entity_id, facts, from_seq, to_seq)
         SELECT 'PLAN', 'patient', 'P-' || (g % ${entities}), '{}', g, CASE WHEN g <= ${closedUpTo} THEN g + ${entities} END
           FROM generate_series(${from}, ${from + count - 1}) g`,
      );
    await dataSource.query('ALTER TABLE rpt_facts SET (autovacuum_enabled = off)');
    await facts(1, 60, 30, 30);
    await dataSource.query('ANALYZE rpt_facts');
    await facts(1_000, 10_000, 6_000, 4_999);
    const keys = Array.from({ length: 40 }, (_, i) => `P-${i}`);
    const list = (values: Array<string | number>) => `'{${values.join(',')}}'`;
    const plan = (statement: string, types: string, args: string) =>
      dataSource.transaction(async (manager) => {
        await manager.query('SET LOCAL plan_cache_mode = force_custom_plan');
        await manager.query(`PREPARE facts_plan(${types}) AS ${statement}`);
        const rows: Array<Record<string, string>> = await manager.query(`EXPLAIN EXECUTE facts_plan(${args})`);
        await manager.query('DEALLOCATE facts_plan');
        return rows.map((row) => Object.values(row).join('')).join('\n');
      });
    const entities = [list(keys.map(() => 'PLAN')), list(keys.map(() => 'patient')), list(keys)].join(', ');
    const plans = [
      await plan(CURRENT_FACTS, 'text[], text[], text[]', entities),
      await plan(CLOSE_CURRENT_FACTS, 'text[], text[], text[], bigint[]', `${entities}, ${list(keys.map((_, i) => 20_000 + i))}`),
    ];
    for (const text of plans) {
      expect(text).toContain('Index Scan using rpt_facts_current');
      expect(text).not.toMatch(/(Seq Scan|Bitmap Heap Scan) on rpt_facts|Hash Join/);
    }
    await dataSource.query('ALTER TABLE rpt_facts RESET (autovacuum_enabled)');
  });

  it('given the published events, the rows hold reporting’s own shapes and every report is the replay’s', async () => {
    await open(reportingMigrations);
    const log = await given();
    const projection = new HistoryProjection(store, dataSource);
    await projection.subscription.catchUp();

    // then(rows): reporting's shapes, corrections applied from the recorded change lists.
    await expectOnlyReportingShapes();
    const facts = await currentFacts();
    expect(facts['patient/P2']).toEqual({
      patientId: 'P2',
      enrolment: { siteId: 'S1', arm: 'PTA', diabetes: false, presentation: 'claudication', enrolledOn: '2025-01-06' },
      indexProcedure: { performedOn: '2025-01-08', segments: ['femoropopliteal'] },
    });
    expect(facts['patient/P3']).toMatchObject({
      enrolment: { withdrawnOn: '2025-06-15' },
      indexProcedure: { segments: ['btk', 'femoropopliteal'] },
    });
    expect(facts['adverse-event/E3']).toEqual({
      eventId: 'E3',
      patientId: 'P3',
      report: { kind: 'tvr', onsetOn: '2025-04-01', limb: 'index', tvr: { clinicallyDriven: true } },
      retracted: false,
      adjudication: { finalized: false },
    });
    expect(facts['adverse-event/E6']).toMatchObject({ retracted: true });
    expect(facts['charter/c2']).toEqual({
      version: 'c2',
      endpoints: defaultCharter().endpoints.slice(1, 4),
      censoring: { withdrawal: 'last-contact' },
    });

    // when(query) / then: the API's input gives the replay's report, and it has something to say.
    const reports = new GetReportInputHandler(dataSource, clock, projection);
    const latest = computeEndpointReport(await reports.execute(new GetReportInput(T, { basis: 'adjudicated', groupBy: [] })));
    expect(latest.charterVersion).toBe('c2');
    expect(latest.censoring).toEqual({ withdrawal: 'last-contact' });
    expect(latest.endpoints.map((e) => [e.id, e.groups[0]?.n, e.groups[0]?.events, e.groups[0]?.pendingAdjudication])).toEqual([
      ['freedom-from-amputation', 4, 1, 0],
      ['freedom-from-major-amputation', 4, 1, 0],
      ['amputation-free-survival', 4, 1, 1],
    ]);
    await expectReportsAsReplayed(reports, log);
  });

  it('a position not yet delivered is 409 NOT_YET_KNOWN after a short wait; the request never drives the projection', async () => {
    await open(reportingMigrations);
    const log = await given();
    const projection = new HistoryProjection(store, dataSource);
    const reports = new GetReportInputHandler(dataSource, clock, projection);
    const position = log.find((e) => e.streamId === trialStream(T))!.globalPosition;
    const refused = await reports
      .execute(new GetReportInput(T, { asOfPosition: position, basis: 'adjudicated', groupBy: [] }))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ProblemException);
    expect((refused as ProblemException).problem).toMatchObject({ status: 409, code: 'NOT_YET_KNOWN' });
    expect((refused as ProblemException).headers).toEqual({ 'Retry-After': '1' });
    // Nothing was projected by the request.
    expect(await dataSource.query(`SELECT count(*)::int AS n FROM rpt_knowledge`)).toEqual([{ n: 0 }]);
    await projection.subscription.catchUp();
    const input = await reports.execute(new GetReportInput(T, { asOfPosition: position, basis: 'adjudicated', groupBy: [] }));
    expect(input.asOf.position).toBe(position);
  });

  // The running subscription takes an advisory lock per database: on a shared server another suite may hold it.
  (databaseUrl ? it.skip : it)(
    'a request waits until the running projection has what was committed before it (read your writes)',
    async () => {
      await open(reportingMigrations);
      await given();
      const projection = new HistoryProjection(store, dataSource);
      projection.subscription.start();
      try {
        const reports = new GetReportInputHandler(dataSource, clock, projection);
        await reports.execute(new GetReportInput(T, { basis: 'adjudicated', groupBy: [] }));
        const written = await store.appendToStream(unblindingStream(T), [{ type: 'UnblindedResultsViewed', data: { trialId: T } }]);
        const input = await reports.execute(new GetReportInput(T, { basis: 'adjudicated', groupBy: [] }));
        expect(input.asOf.position).toBe(written.globalPosition);
      } finally {
        await projection.subscription.stop();
      }
    },
  );

  it('migration 900 rebuilds a read model holding other contexts’ decider state, which then answers as the replay does', async () => {
    expect(reportingMigrations.slice(-2)).toEqual([ReportingOwnFacts1764000000900, ChartersCensoring1764000001000]);
    await open(reportingMigrations.filter((m) => m !== ReportingOwnFacts1764000000900));
    const log = await given();
    const projection = new HistoryProjection(store, dataSource);
    await projection.subscription.catchUp();
    // What the projection stored before: enrollment's PatientState and the AdverseEventState JSON.
    await dataSource.query(`
      UPDATE rpt_facts SET facts = jsonb_strip_nulls(jsonb_build_object(
        'patient', jsonb_build_object('status', 'enrolled', 'trialId', trial_id, 'patientId', entity_id, 'siteId', facts #> '{enrolment,siteId}',
          'enrolledOn', facts #> '{enrolment,enrolledOn}', 'arm', facts #> '{enrolment,arm}', 'visits', '{}'::jsonb,
          'baseline', jsonb_build_object('ageYears', 71, 'sex', 'M', 'diabetes', facts #> '{enrolment,diabetes}', 'presentation', facts #> '{enrolment,presentation}', 'rutherfordClass', 4)),
        'indexProcedure', facts -> 'indexProcedure'))
       WHERE kind = 'patient'`);
    await dataSource.query(`
      UPDATE rpt_facts SET facts = jsonb_strip_nulls(jsonb_build_object(
        'state', jsonb_build_object('status', CASE WHEN (facts ->> 'retracted')::boolean THEN 'retracted' ELSE 'reported' END, 'trialId', trial_id,
          'patientId', facts -> 'patientId', 'siteId', 'S1', 'eventId', facts -> 'eventId', 'report', (facts -> 'report') || '{"description": "as reported"}'::jsonb),
        'adjudication', facts -> 'adjudication'))
       WHERE kind = 'adverse-event'`);
    await dataSource.query(`UPDATE rpt_facts SET facts = facts || jsonb_build_object('trialId', trial_id) WHERE kind = 'charter'`);
    // The new code cannot read those rows: no patient would be reported.
    const stale = await new GetReportInputHandler(dataSource, clock, projection).execute(
      new GetReportInput(T, { basis: 'adjudicated', groupBy: [] }),
    );
    expect(stale.patients).toEqual([]);

    const runner = dataSource.createQueryRunner();
    try {
      await new ReportingOwnFacts1764000000900().up(runner);
    } finally {
      await runner.release();
    }
    expect(
      await dataSource.query(
        `SELECT (SELECT count(*) FROM rpt_facts)::int AS facts, (SELECT count(*) FROM rpt_knowledge)::int AS knowledge`,
      ),
    ).toEqual([{ facts: 0, knowledge: 0 }]);
    expect(await dataSource.query(`SELECT name FROM es_subscriptions WHERE name = 'reporting.history'`)).toEqual([]);

    // The subscription projects the log again from the start.
    await projection.subscription.catchUp();
    await expectOnlyReportingShapes();
    await expectReportsAsReplayed(new GetReportInputHandler(dataSource, clock, projection), log);
  });
  it('migration 1000 rebuilds charter rows folded without their censoring rule, which then apply the rule published', async () => {
    await open(reportingMigrations.filter((m) => m !== ChartersCensoring1764000001000));
    const log = await given();
    const projection = new HistoryProjection(store, dataSource);
    await projection.subscription.catchUp();
    // What the code before the rule stored of a charter version: its id and endpoints only.
    await dataSource.query(`UPDATE rpt_facts SET facts = facts - 'censoring' WHERE kind = 'charter'`);

    const runner = dataSource.createQueryRunner();
    try {
      await new ChartersCensoring1764000001000().up(runner);
    } finally {
      await runner.release();
    }
    expect(await dataSource.query(`SELECT count(*)::int AS n FROM rpt_facts`)).toEqual([{ n: 0 }]);

    await projection.subscription.catchUp();
    expect((await currentFacts())['charter/c2']).toMatchObject({ censoring: { withdrawal: 'last-contact' } });
    const reports = new GetReportInputHandler(dataSource, clock, projection);
    expect(computeEndpointReport(await reports.execute(new GetReportInput(T, { basis: 'adjudicated', groupBy: [] }))).censoring).toEqual({
      withdrawal: 'last-contact',
    });
    await expectReportsAsReplayed(reports, log);
  });
});
