export { ProceduresModule } from './procedures.module';
export { GetProcedures } from './application/procedures.handlers';
export type { ProceduresState } from './domain/procedures.decider';
