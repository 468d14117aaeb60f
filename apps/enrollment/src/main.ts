import { bootstrapService } from '../../platform/src/service';
import { EnrollmentModule } from './enrollment.module';

void bootstrapService({ name: 'enrollment', defaultPort: 3001, imports: [EnrollmentModule] });
