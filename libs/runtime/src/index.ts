export { EnrollmentFacts, EnrollmentFactsModule } from './enrollment-facts.module';
