import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Charter versions in rpt_facts now carry their withdrawal censoring rule (api.md "Endpoint report",
 * semantics 3). A row folded by the code before this migration has none, and if enrollment had
 * already published a rule (a distributed deployment upgraded one service at a time) that row would
 * silently apply the default: the history is rebuilt from the log instead, so every row is folded
 * by this code and the API keeps answering what `trialctl replay` folds afresh.
 */
export class ChartersCensoring1764000001000 implements MigrationInterface {
  name = 'ChartersCensoring1764000001000';

  async up(runner: QueryRunner): Promise<void> {
    await rebuildHistory(runner);
  }

  async down(runner: QueryRunner): Promise<void> {
    // The code before this migration has no use for the rule; rows folded by it are all it needs.
    await rebuildHistory(runner);
  }
}

/** Empties the history read model; its subscription then projects the log again from the start. */
async function rebuildHistory(runner: QueryRunner): Promise<void> {
  await runner.query(`TRUNCATE rpt_knowledge, rpt_facts`);
  await runner.query(`DELETE FROM es_subscriptions WHERE name = 'reporting.history'`);
}
