import { bootstrap, migrationsWith } from '@app/runtime';
import { ProceduresModule } from './index';

void bootstrap({
  name: 'procedures',
  defaultPort: 3002,
  deployment: 'service',
  contexts: [ProceduresModule],
  migrations: migrationsWith(),
});
