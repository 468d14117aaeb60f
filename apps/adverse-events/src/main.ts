import { bootstrap, migrationsWith } from '@app/runtime';
import { AdverseEventsModule } from './index';

void bootstrap({
  name: 'adverse-events',
  defaultPort: 3003,
  deployment: 'service',
  contexts: [AdverseEventsModule],
  migrations: migrationsWith(),
});
