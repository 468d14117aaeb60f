import type { Provider } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ZodValidationPipe } from 'nestjs-zod';
import type { Request } from 'express';
import { ConfigService } from '@nestjs/config';
import {
  ApiInterceptor,
  IDEMPOTENCY_TTL_MS,
  IdempotencyInterceptor,
  ProblemDetailsFilter,
  StreamVersionETagInterceptor,
  TrialExistsInterceptor,
} from '@app/http';
import type { PlatformConfig } from './config';

/**
 * The HTTP pipeline of every process that serves the API (the platform and each service):
 * problem+json errors, zod-validated bodies, 404 under an unknown trial, Idempotency-Key, ETag from the stream version.
 */
export const apiProviders: Provider[] = [
  { provide: APP_FILTER, useClass: ProblemDetailsFilter },
  { provide: APP_PIPE, useClass: ZodValidationPipe },
  { provide: 'REQUEST_USER', useValue: (request: Request & { principal?: { userId: string } }) => request.principal?.userId },
  // The interceptors, called by ApiInterceptor in this order: the trial's existence first (the outermost:
  // nothing below runs, claims or writes for an unknown trial), the Idempotency-Key, the answer's ETag.
  TrialExistsInterceptor,
  {
    provide: IDEMPOTENCY_TTL_MS,
    inject: [ConfigService],
    useFactory: (config: ConfigService<PlatformConfig, true>) => config.get('IDEMPOTENCY_TTL', { infer: true }),
  },
  IdempotencyInterceptor,
  StreamVersionETagInterceptor,
  { provide: APP_INTERCEPTOR, useClass: ApiInterceptor },
];
