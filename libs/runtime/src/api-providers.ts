import { type CanActivate, type ExecutionContext, Inject, Injectable, type OnApplicationBootstrap, type Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE, HttpAdapterHost } from '@nestjs/core';
import { ZodValidationPipe } from 'nestjs-zod';
import type { Request, Response } from 'express';
import { ConfigService } from '@nestjs/config';
import { AuthGuard } from '@app/auth';
import {
  ApiHttpAdapter,
  IDEMPOTENCY_TTL_MS,
  IdempotencyKeys,
  ProblemDetailsFilter,
  TrialExists,
  type RequestWithIdempotency,
} from '@app/http';
import type { PlatformConfig } from './config';

/**
 * What runs before every API handler, in this order: authentication and roles (401, 403), the
 * trial a route names (404 TRIAL_NOT_FOUND: nothing below runs, claims or writes for an unknown
 * trial), then the Idempotency-Key's claim. One guard calling them, so the order is this file's
 * and not that of Nest's global guards; a guard rather than interceptors, which Nest wraps per
 * request in an AsyncResource and rxjs operators (issue #18). The answer's side (ETag,
 * Idempotent-Replayed) is ApiHttpAdapter's, which every app serving the API must be created with.
 */
@Injectable()
export class ApiGuard implements CanActivate, OnApplicationBootstrap {
  constructor(
    @Inject(AuthGuard) private readonly auth: AuthGuard,
    @Inject(TrialExists) private readonly trials: TrialExists,
    @Inject(IdempotencyKeys) private readonly keys: IdempotencyKeys,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Without the adapter, answers would silently lose their ETag and their replay header. */
  onApplicationBootstrap(): void {
    const adapter = this.adapterHost.httpAdapter as unknown;
    if (adapter && !(adapter instanceof ApiHttpAdapter)) {
      throw new Error('an app serving the API must be created with ApiHttpAdapter (createApiApp in @app/runtime)');
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!(await this.auth.canActivate(context))) return false;
    // Message handlers (Kafka, RPC) name no trial in a path and carry no Idempotency-Key header.
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<Request & RequestWithIdempotency>();
    await this.trials.assertRegistered(request.params);
    this.keys.claim(request, http.getResponse<Response>());
    return true;
  }
}

/**
 * The HTTP pipeline of every process that serves the API (the platform and each service):
 * problem+json errors, zod-validated bodies, authentication, 404 under an unknown trial,
 * Idempotency-Key; ApiHttpAdapter adds the ETag from the stream version.
 */
export const apiProviders: Provider[] = [
  { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  { provide: APP_PIPE, useClass: ZodValidationPipe },
  { provide: 'REQUEST_USER', useValue: (request: Request & { principal?: { userId: string } }) => request.principal?.userId },
  TrialExists,
  {
    provide: IDEMPOTENCY_TTL_MS,
    inject: [ConfigService],
    useFactory: (config: ConfigService<PlatformConfig, true>) => config.get('IDEMPOTENCY_TTL', { infer: true }),
  },
  IdempotencyKeys,
  { provide: APP_GUARD, useClass: ApiGuard },
];
