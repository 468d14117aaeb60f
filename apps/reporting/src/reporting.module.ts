import { Module } from '@nestjs/common';
import { ReportingController } from './api/reporting.controller';
import { RecordUnblindedViewHandler } from './application/reporting.commands';
import { GetReportInputHandler, HistoryProjection } from './read-models/history';

/** Endpoint reports and curves as of any knowledge time, from a history-keeping read model. */
@Module({
  controllers: [ReportingController],
  providers: [HistoryProjection, GetReportInputHandler, RecordUnblindedViewHandler],
})
export class ReportingModule {}
