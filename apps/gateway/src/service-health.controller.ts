import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  type HealthIndicatorResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '@app/auth';
import { ProblemException, sendProblem } from '@app/http';
import { GATEWAY_SERVICES, type ServiceName } from './routes';

/** Injection token of the services' base URLs. */
export const SERVICE_URLS = Symbol('SERVICE_URLS');

// Long enough for a loaded service, short enough that a probe of the gateway does not time out first.
const PROBE_TIMEOUT_MS = 3000;

@Public()
@Controller('health')
export class GatewayHealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(SERVICE_URLS) private readonly services: Record<ServiceName, string>,
  ) {}

  /**
   * 200 when every service answers its own /health with 200; otherwise 503 naming the ones that
   * do not. (terminus' HttpHealthIndicator needs @nestjs/axios, which this project does not carry.)
   */
  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness of the deployment',
    description: '200 when every service answers its own /health with 200; 503 naming the services that do not. No token needed.',
  })
  async check(@Res() response: Response): Promise<void> {
    try {
      response.json(await this.health.check(GATEWAY_SERVICES.map((name) => () => this.probe(name))));
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // Answered here, not by the exception filter: the body must say which services are down,
      // and a probe polling an outage should not log a stack trace each time.
      const result = error.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {});
      sendProblem(
        response,
        new ProblemException(503, 'SERVICES_UNAVAILABLE', `Not answering: ${down.join(', ')}.`, {
          headers: { 'Retry-After': '5' },
          extensions: { health: result },
        }),
      );
    }
  }

  private async probe(name: ServiceName): Promise<HealthIndicatorResult> {
    const check = this.indicator.check(name);
    const url = `${this.services[name]}/health`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await response.body?.cancel();
      return response.ok ? check.up({ url }) : check.down({ url, httpStatus: response.status });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return check.down({ url, message: cause?.code ?? (error as Error).message });
    }
  }
}
