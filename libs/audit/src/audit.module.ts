import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';

/** Read-only audit trail and export over the event store (the store module is global). */
@Module({ controllers: [AuditController] })
export class AuditModule {}
