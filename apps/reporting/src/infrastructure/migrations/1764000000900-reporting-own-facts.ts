import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * rpt_facts holds reporting's own shapes, folded from the published events, instead of the JSON of
 * enrollment's and adverse-events' private decider state. Rows of the old shape are not converted:
 * the history is rebuilt from the log, so no old row ever meets the new code and the API answers
 * what `trialctl replay` folds afresh.
 */
export class ReportingOwnFacts1764000000900 implements MigrationInterface {
  name = 'ReportingOwnFacts1764000000900';

  async up(runner: QueryRunner): Promise<void> {
    await rebuildHistory(runner);
  }

  async down(runner: QueryRunner): Promise<void> {
    // The code before this migration reads decider state: rows of the new shape must go as well.
    await rebuildHistory(runner);
  }
}

/** Empties the history read model; its subscription then projects the log again from the start. */
async function rebuildHistory(runner: QueryRunner): Promise<void> {
  await runner.query(`TRUNCATE rpt_knowledge, rpt_facts`);
  await runner.query(`DELETE FROM es_subscriptions WHERE name = 'reporting.history'`);
}
