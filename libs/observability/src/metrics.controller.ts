import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '@app/auth';
import { TrialsMetrics } from './trials-metrics';

/** Prometheus text exposition; public because scrapers carry no bearer token (keep /metrics off the public edge). */
@Public()
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: TrialsMetrics) {}

  @Get()
  async scrape(@Res() response: Response): Promise<void> {
    const body = await this.metrics.registry.metrics();
    // end(), not send(): Express would rewrite the registry's content type (it moves the charset).
    response.status(200).setHeader('Content-Type', this.metrics.registry.contentType);
    response.end(body);
  }
}
