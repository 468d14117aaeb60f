export { ProceduresModule } from './procedures.module';
