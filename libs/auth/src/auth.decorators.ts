import { createParamDecorator, type CustomDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { unauthorized } from '@app/http';
import type { Principal } from './principal';
import type { Role } from './roles';

/** Metadata key set by @Public(). */
export const IS_PUBLIC_KEY = 'auth:public';
/** Metadata key set by @Roles(). */
export const ROLES_KEY = 'auth:roles';

/** The part of an HTTP request the auth guard reads and writes. */
export interface AuthenticatedRequest {
  headers: IncomingHttpHeaders;
  principal?: Principal;
}

/** Lets a route or controller through without a bearer token. */
export const Public = (): CustomDecorator<string> => SetMetadata(IS_PUBLIC_KEY, true);

/** Requires any one of the roles; on a handler it replaces the controller's @Roles. */
export const Roles = (...roles: [Role, ...Role[]]): CustomDecorator<string> => SetMetadata(ROLES_KEY, roles);

/** Injects the authenticated Principal of the request. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  // Only reachable on a @Public route, where no token was checked.
  if (!principal) throw unauthorized('AUTHENTICATION_REQUIRED', 'This request needs an Authorization: Bearer <token> header.');
  return principal;
});
