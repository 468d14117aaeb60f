import { bootstrap } from '@app/runtime';
import { platformDefinition } from './platform.module';

void bootstrap(platformDefinition());
