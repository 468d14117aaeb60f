import type { MigrationInterface } from 'typeorm';
import { ReportingHistory1764000000400 } from './1764000000400-reporting-history';
import { ReportingVisits1764000000500 } from './1764000000500-reporting-visits';
import { KnowledgePerTrial1764000000700 } from './1764000000700-knowledge-per-trial';
import { ReportingOwnFacts1764000000900 } from './1764000000900-reporting-own-facts';
import { ChartersCensoring1764000001000 } from './1764000001000-charter-censoring';

/** Reporting's migrations, in order; they run after the event store's (es_subscriptions). */
export const reportingMigrations: Array<new () => MigrationInterface> = [
  ReportingHistory1764000000400,
  ReportingVisits1764000000500,
  KnowledgePerTrial1764000000700,
  ReportingOwnFacts1764000000900,
  ChartersCensoring1764000001000,
];
