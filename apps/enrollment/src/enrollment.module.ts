import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EnrollmentController } from './api/enrollment.controller';
import { enrollmentCommandHandlers } from './application/enrollment.commands';
import { enrollmentViewHandlers } from './read-models/enrollment-views';

/** Trial setup, sites, committee, charter, patients, visits, withdrawals. */
@Module({
  imports: [CqrsModule],
  controllers: [EnrollmentController],
  providers: [...enrollmentCommandHandlers, ...enrollmentViewHandlers],
})
export class EnrollmentModule {}
