import { AuditModule } from '@app/audit';
import { bootstrapService } from '../../platform/src/service';
import { ReportingModule } from './reporting.module';

// The audit trail is a read view over the whole log, like the reports: it is served here.
void bootstrapService({ name: 'reporting', defaultPort: 3005, imports: [ReportingModule, AuditModule] });
