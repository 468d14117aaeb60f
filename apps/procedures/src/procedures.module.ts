import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ProceduresController } from './api/procedures.controller';
import { GetProceduresHandler, RecordProcedureHandler } from './application/procedures.handlers';

/** Index procedures, lesions, devices. */
@Module({
  imports: [CqrsModule],
  controllers: [ProceduresController],
  providers: [RecordProcedureHandler, GetProceduresHandler],
})
export class ProceduresModule {}
