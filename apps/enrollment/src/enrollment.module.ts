import { Module } from '@nestjs/common';
import { EnrollmentController } from './api/enrollment.controller';
import { enrollmentCommandHandlers } from './application/enrollment.commands';
import { enrollmentViewHandlers } from './read-models/enrollment-views';

/** Trial setup, sites, committee, charter, patients, visits, withdrawals. */
@Module({
  controllers: [EnrollmentController],
  providers: [...enrollmentCommandHandlers, ...enrollmentViewHandlers],
})
export class EnrollmentModule {}
