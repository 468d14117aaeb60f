import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EnrollmentController } from './api/enrollment.controller';
import { enrollmentHandlers } from './application/enrollment.handlers';

/** Trial setup, sites, committee, charter, patients, visits, withdrawals. */
@Module({
  imports: [CqrsModule],
  controllers: [EnrollmentController],
  providers: [...enrollmentHandlers],
})
export class EnrollmentModule {}
