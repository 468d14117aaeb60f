import { AdjudicationReadModel1764000000300 } from './1764000000300-adjudication-read-model';

export { AdjudicationReadModel1764000000300 };

/** The context's migrations, in the order they run. */
export const adjudicationMigrations = [AdjudicationReadModel1764000000300];
