import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from '@app/auth';
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
  check() {
    return this.health.check(GATEWAY_SERVICES.map((name) => () => this.probe(name)));
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
