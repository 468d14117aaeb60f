import { ProblemException } from '@app/http';
import { assertSiteAccess, canAccessSite, hasAnyRole } from './access-policy';
import type { Principal } from './principal';
import type { Role } from './roles';

const principal = (roles: Role[], sites: string[] = []): Principal => ({ userId: 'u1', name: 'Dr. Jane Roe', roles, sites });

describe('hasAnyRole', () => {
  it('is true when one of the roles is held', () => {
    expect(hasAnyRole(principal(['sponsor', 'auditor']), ['trial-admin', 'auditor'])).toBe(true);
  });

  it('is false when none is held, or none is asked for', () => {
    expect(hasAnyRole(principal(['sponsor']), ['trial-admin'])).toBe(false);
    expect(hasAnyRole(principal(['sponsor']), [])).toBe(false);
  });
});

describe('canAccessSite', () => {
  it('lets a site-investigator act on its own sites only', () => {
    const investigator = principal(['site-investigator'], ['S01', 'S02']);
    expect(canAccessSite(investigator, 'S01')).toBe(true);
    expect(canAccessSite(investigator, 'S02')).toBe(true);
    expect(canAccessSite(investigator, 'S03')).toBe(false);
  });

  it.each<Role>(['trial-admin', 'cec-reviewer', 'cec-chair', 'dsmb-member', 'sponsor', 'auditor'])('treats %s as trial-wide', (role) => {
    expect(canAccessSite(principal([role]), 'S09')).toBe(true);
  });

  it('does not scope a site-investigator who is also trial-admin', () => {
    expect(canAccessSite(principal(['site-investigator', 'trial-admin'], ['S01']), 'S09')).toBe(true);
  });

  it('counts only the roles the action is taken in', () => {
    const dual = principal(['site-investigator', 'cec-reviewer'], ['S01']);
    expect(canAccessSite(dual, 'S02', ['site-investigator'])).toBe(false);
    expect(canAccessSite(dual, 'S01', ['site-investigator'])).toBe(true);
    expect(canAccessSite(principal(['sponsor']), 'S01', ['site-investigator'])).toBe(false);
  });

  it('refuses a principal without roles', () => {
    expect(canAccessSite(principal([], ['S01']), 'S01')).toBe(false);
  });
});

describe('assertSiteAccess', () => {
  it('throws 403 SITE_FORBIDDEN naming the site', () => {
    let thrown: unknown;
    try {
      assertSiteAccess(principal(['site-investigator'], ['S01']), 'S02');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProblemException);
    expect((thrown as ProblemException).problem).toMatchObject({ status: 403, code: 'SITE_FORBIDDEN' });
    expect((thrown as ProblemException).problem.detail).toContain('S02');
  });

  it('returns quietly when access is allowed', () => {
    expect(() => assertSiteAccess(principal(['site-investigator'], ['S01']), 'S01', ['site-investigator'])).not.toThrow();
  });
});
