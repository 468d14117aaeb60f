import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from '@app/auth';
import { DATA_SOURCE, isEmbedded } from '@app/event-store';
import type { DataSource } from 'typeorm';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
  ) {}

  /** 200 once the API is ready: the event store answers a query. */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.eventStore()]);
  }

  private async eventStore(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('eventStore');
    const engine = isEmbedded(this.dataSource) ? 'pglite' : 'postgresql';
    try {
      await this.dataSource.query('SELECT 1');
      return check.up({ engine });
    } catch (error) {
      return check.down({ engine, message: (error as Error).message });
    }
  }
}
