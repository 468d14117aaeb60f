export { EnrollmentModule } from './enrollment.module';
