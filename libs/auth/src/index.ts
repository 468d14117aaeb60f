export { ROLES, isRole } from './roles';
export type { Role } from './roles';
export { principalFromClaims, principalOf } from './principal';
export type { Principal } from './principal';
export { assertSiteAccess, canAccessSite, hasAnyRole, isSiteScopedRole } from './access-policy';
export { MINT_TOKEN_EXAMPLE, jwtSecretPath, readSecretFile, resolveJwtSettings } from './jwt-settings';
export type { JwtSettings, JwtSettingsInput } from './jwt-settings';
export { JWT_SETTINGS, JwtVerifier } from './jwt-verifier';
export { signToken } from './sign-token';
export type { SignTokenOptions } from './sign-token';
export {
  AUTH_TIME_SKEW_SECONDS,
  DEFAULT_SIGNATURE_MAX_AGE_SECONDS,
  SIGNATURE_MAX_AGE,
  authenticationFreshness,
  requireFreshAuthentication,
} from './step-up';
export type { AuthenticationFreshness, SigningAuthentication } from './step-up';
export { CurrentPrincipal, IS_PUBLIC_KEY, Public, ROLES_KEY, Roles } from './auth.decorators';
export type { AuthenticatedRequest } from './auth.decorators';
export { AuthGuard } from './auth.guard';
export { AuthModule } from './auth.module';
export type { AuthModuleAsyncOptions } from './auth.module';
