import { bootstrap, migrationsWith } from '@app/runtime';
import { EnrollmentModule } from './index';

void bootstrap({
  name: 'enrollment',
  defaultPort: 3001,
  deployment: 'service',
  contexts: [EnrollmentModule],
  migrations: migrationsWith(),
});
