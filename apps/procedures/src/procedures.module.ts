import { Module } from '@nestjs/common';
import { EnrollmentFactsModule } from '@app/runtime';
import { ProceduresController } from './api/procedures.controller';
import { RecordProcedureHandler } from './application/procedures.commands';

/** Index procedures, lesions, devices. */
@Module({
  // A procedure is recorded only for an enrolled patient in the sender's sites: enrollment's published facts.
  imports: [EnrollmentFactsModule],
  controllers: [ProceduresController],
  providers: [RecordProcedureHandler],
})
export class ProceduresModule {}
