import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemException, unauthorized } from '@app/http';
import { hasAnyRole } from './access-policy';
import { IS_PUBLIC_KEY, ROLES_KEY, type AuthenticatedRequest } from './auth.decorators';
import { JwtVerifier } from './jwt-verifier';
import type { Role } from './roles';

const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

/** Authenticates every HTTP route not marked @Public() and enforces its @Roles(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Message handlers (Kafka, RPC) carry no bearer token; their trust comes from the transport.
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets)) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (!match?.[1]) throw unauthorized('AUTHENTICATION_REQUIRED', 'This request needs an Authorization: Bearer <token> header.');
    const principal = await this.verifier.verify(match[1]);
    request.principal = principal;

    const required = this.reflector.getAllAndOverride<readonly Role[] | undefined>(ROLES_KEY, targets);
    if (required && !hasAnyRole(principal, required)) {
      throw new ProblemException(
        403,
        'ROLE_FORBIDDEN',
        `This action requires one of the roles: ${required.join(', ')}; the token carries: ${principal.roles.join(', ') || 'none'}.`,
        { extensions: { requiredRoles: [...required] } },
      );
    }
    return true;
  }
}
