import type { DynamicModule } from '@nestjs/common';
import { AuditModule } from '@app/audit';
import type { Clock, IdGenerator } from '@app/event-store';
import { RuntimeModule, migrationsWith, type RuntimeDefinition } from '@app/runtime';
import { AdjudicationModule, adjudicationMigrations } from '../../adjudication/src';
import { AdverseEventsModule } from '../../adverse-events/src';
import { EnrollmentModule } from '../../enrollment/src';
import { ProceduresModule } from '../../procedures/src';
import { ReportingModule, reportingMigrations } from '../../reporting/src';

/** Migrations of the libraries and of every context, in order. */
export const platformMigrations = migrationsWith(adjudicationMigrations, reportingMigrations);

/**
 * The composition root of the embedded default and the single-server deployment: every bounded
 * context in one process. The only place that names the contexts, and only by their index.
 */
export function platformDefinition(options: { clock?: Clock; ids?: IdGenerator } = {}): RuntimeDefinition {
  return {
    name: 'platform',
    defaultPort: 3000,
    deployment: 'platform',
    // The audit trail is a read view over the whole log; it rides with the reports.
    contexts: [EnrollmentModule, ProceduresModule, AdverseEventsModule, AdjudicationModule, ReportingModule, AuditModule],
    migrations: platformMigrations,
    ...options,
  };
}

/** The platform as a module, for tests and embedding: it reads the environment only, never a `.env` file. */
export const PlatformModule = {
  /** `clock` and `ids` are for tests; production uses the system clock and random UUIDs. */
  forRoot(options: { clock?: Clock; ids?: IdGenerator } = {}): DynamicModule {
    return RuntimeModule.forRoot({ ...platformDefinition(options), envFile: false });
  },
};
