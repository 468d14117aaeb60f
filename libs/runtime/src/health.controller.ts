import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { Public } from '@app/auth';
import { DATA_SOURCE, EVENT_STORE_ADAPTER, KurrentDbEventStore, isEmbedded, type EventStore } from '@app/event-store';
import { IntegrationEventTransports } from '@app/messaging';
import type { DataSource } from 'typeorm';
import { buildInfo } from './version.controller';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(EVENT_STORE_ADAPTER) private readonly store: EventStore,
    private readonly transports: IntegrationEventTransports,
  ) {}

  /** 200 once the API is ready: the database answers a query and the event log a read; with the version running. */
  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness',
    description:
      '200 once the API is ready (the database answers a query, the event log a read, no Kafka consumer has stopped), with the version running; ' +
      '503 naming what is down otherwise.',
  })
  async check() {
    const result = await this.health.check([() => this.database(), () => this.eventStore(), () => this.messaging()]);
    return { ...result, version: buildInfo().version };
  }

  /** Read models, checkpoints, idempotency keys (and the log, unless it is on KurrentDB). */
  private async database(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('database');
    const engine = isEmbedded(this.dataSource) ? 'pglite' : 'postgresql';
    try {
      await this.dataSource.query('SELECT 1');
      return check.up({ engine });
    } catch (error) {
      return check.down({ engine, message: (error as Error).message });
    }
  }

  /**
   * The process's Kafka consumers: down once one has crashed and kafkajs will not restart it (it
   * consumes nothing more; the process exits for a restart). Up with none (no KAFKA_BROKERS).
   */
  private messaging(): HealthIndicatorResult {
    const check = this.indicator.check('messaging');
    const consumers = this.transports.consumers().map((c) => c.consumer);
    const stopped = this.transports.stopped();
    if (stopped.length === 0) return check.up({ consumers });
    return check.down({
      consumers,
      stopped: stopped.map((s) => s.consumer),
      message: stopped.map((s) => `${s.consumer} stopped: ${s.error.message}`).join('; '),
    });
  }

  private async eventStore(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('eventStore');
    const engine = this.store instanceof KurrentDbEventStore ? 'kurrentdb' : isEmbedded(this.dataSource) ? 'pglite' : 'postgresql';
    try {
      await this.store.readAll({ maxCount: 1 });
      return check.up({ engine });
    } catch (error) {
      return check.down({ engine, message: (error as Error).message });
    }
  }
}
