import { forbidden } from '@app/http';
import type { Principal } from './principal';
import type { Role } from './roles';

// api.md: the `sites` claim applies to site roles only; every other role is trial-wide.
const SITE_SCOPED: ReadonlySet<Role> = new Set<Role>(['site-investigator']);

/** True when the role only reaches the sites listed in the token's `sites` claim. */
export function isSiteScopedRole(role: Role): boolean {
  return SITE_SCOPED.has(role);
}

/** True when the principal holds at least one of the roles. */
export function hasAnyRole(principal: Pick<Principal, 'roles'>, roles: readonly Role[]): boolean {
  return principal.roles.some((role) => roles.includes(role));
}

/**
 * True when the principal may act on the site: through a trial-wide role, or as a
 * site-investigator listed for it. `actingAs` limits which of its roles count, so that a
 * site-investigator of S01 who is also a CEC reviewer cannot enter patients at S02.
 */
export function canAccessSite(principal: Pick<Principal, 'roles' | 'sites'>, siteId: string, actingAs?: readonly Role[]): boolean {
  const roles = actingAs ? principal.roles.filter((role) => actingAs.includes(role)) : principal.roles;
  if (roles.some((role) => !isSiteScopedRole(role))) return true;
  return roles.length > 0 && principal.sites.includes(siteId);
}

/** Throws 403 SITE_FORBIDDEN unless canAccessSite() allows the principal at the site. */
export function assertSiteAccess(principal: Principal, siteId: string, actingAs?: readonly Role[]): void {
  if (canAccessSite(principal, siteId, actingAs)) return;
  const as = actingAs ? ` as ${actingAs.join(' or ')}` : '';
  throw forbidden(
    'SITE_FORBIDDEN',
    `User ${principal.userId} may not act on site ${siteId}${as}; the token grants sites: ${principal.sites.join(', ') || 'none'}.`,
  );
}
