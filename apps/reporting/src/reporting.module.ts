import { Module } from '@nestjs/common';
import { ReportsController } from './api/reports.controller';
import { ReportService } from './application/report.service';
import { HistoryProjection } from './infrastructure/history.projection';

/** Endpoint reports and curves as of any knowledge time, from a history-keeping read model. */
@Module({
  controllers: [ReportsController],
  providers: [HistoryProjection, ReportService],
})
export class ReportingModule {}
