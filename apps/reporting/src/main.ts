import { AuditModule } from '@app/audit';
import { bootstrap, migrationsWith } from '@app/runtime';
import { ReportingModule, reportingMigrations } from './index';

// The audit trail is a read view over the whole log, like the reports: it is served here.
void bootstrap({
  name: 'reporting',
  defaultPort: 3005,
  deployment: 'service',
  contexts: [ReportingModule, AuditModule],
  migrations: migrationsWith(reportingMigrations),
});
