import { PublishCharterBody, defaultCensoring } from './enrollment';

const endpoints = [{ id: 'survival', label: 'Survival', horizonDays: 365, events: [], includesDeath: true }];

describe('PublishCharterBody: the withdrawal censoring option (api.md "Endpoint report")', () => {
  it('takes either rule, or none', () => {
    for (const withdrawal of ['withdrawal-date', 'last-contact'] as const)
      expect(PublishCharterBody.parse({ version: '1', endpoints, censoring: { withdrawal } }).censoring).toEqual({ withdrawal });
    expect(PublishCharterBody.parse({ version: '1', endpoints }).censoring).toBeUndefined();
  });

  it('refuses another rule, a missing one, and any other censoring field', () => {
    for (const censoring of [{ withdrawal: 'never' }, {}, { withdrawal: 'last-contact', death: 'x' }, 'last-contact'])
      expect(PublishCharterBody.safeParse({ version: '1', endpoints, censoring }).success).toBe(false);
  });

  it('defaults to censoring at the withdrawal date, a fresh copy each time', () => {
    const rule = defaultCensoring();
    expect(rule).toEqual({ withdrawal: 'withdrawal-date' });
    expect(defaultCensoring()).not.toBe(rule);
  });
});
