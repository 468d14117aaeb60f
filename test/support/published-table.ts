import { EXPECTED_SITE_REPORTED } from '../../scripts/demo-cohort';

/** The parts of GET /trials/{t}/reports/endpoints these checks read. */
export interface EndpointReport {
  asOf: { recordedAt: string; position: number };
  charterVersion: string;
  endpoints: Array<{
    id: string;
    groups: Array<{
      key: Record<string, unknown>;
      n: number;
      events: number;
      censored: number;
      pendingAdjudication: number;
      km: { survival: number; lower: number; upper: number; standardError: number };
      crude: { evaluable: number; eventFree: number; lower: number; upper: number };
    }>;
  }>;
}

/** One diabetes subgroup of one endpoint. */
export const byDiabetes = (report: EndpointReport, endpointId: string, diabetes: boolean) =>
  report.endpoints.find((e) => e.id === endpointId)?.groups.find((g) => g.key.diabetes === diabetes);

/**
 * The seed article's 6-month table, by diabetes, as the site-reported report under the default
 * charter must print it (scripts/demo-cohort.ts's EXPECTED_SITE_REPORTED), and api.md's example
 * row to the fourth decimal. Same checks as test/reports.e2e.spec.ts, for any deployment.
 */
export function expectPublishedTable(report: EndpointReport): void {
  expect(report.charterVersion).toBe('default-1');
  for (const [endpointId, expected] of Object.entries(EXPECTED_SITE_REPORTED)) {
    for (const group of expected) {
      const g = byDiabetes(report, endpointId, group.diabetes);
      expect({
        endpointId,
        diabetes: group.diabetes,
        n: g?.n,
        evaluable: g?.crude.evaluable,
        eventFree: g?.crude.eventFree,
        km: g?.km.survival,
      }).toEqual({
        endpointId,
        diabetes: group.diabetes,
        n: group.n,
        evaluable: group.n,
        eventFree: Math.round((group.eventFree / group.n) * 10000) / 10000,
        km: Math.round((group.eventFree / group.n) * 10000) / 10000,
      });
    }
  }
  expect(byDiabetes(report, 'freedom-from-cd-tvr', true)).toMatchObject({
    n: 16,
    events: 2,
    censored: 14,
    km: { survival: 0.875, lower: 0.586, upper: 0.9672, standardError: 0.0827 },
    crude: { evaluable: 16, eventFree: 0.875, lower: 0.6165, upper: 0.9845 },
  });
  expect(byDiabetes(report, 'freedom-from-cd-tvr', false)).toMatchObject({
    n: 20,
    events: 0,
    km: { survival: 1, lower: 1, upper: 1, standardError: 0 },
  });
}
