import { Module } from '@nestjs/common';
import { DataCutsController } from './api/data-cuts.controller';
import { ReportingController } from './api/reporting.controller';
import { FreezeDataCutHandler, RecordDataCutUnblindedReadHandler, RecordUnblindedViewHandler } from './application/reporting.commands';
import { GetDataCutDocumentsHandler, GetDataCutsHandler, GetTrialPositionAtHandler } from './read-models/data-cuts';
import { GetReportInputHandler, HistoryProjection } from './read-models/history';

/** Endpoint reports and curves as of any knowledge time, from a history-keeping read model; DSMB data cuts. */
@Module({
  controllers: [ReportingController, DataCutsController],
  providers: [
    HistoryProjection,
    GetReportInputHandler,
    RecordUnblindedViewHandler,
    FreezeDataCutHandler,
    RecordDataCutUnblindedReadHandler,
    GetDataCutsHandler,
    GetDataCutDocumentsHandler,
    GetTrialPositionAtHandler,
  ],
})
export class ReportingModule {}
