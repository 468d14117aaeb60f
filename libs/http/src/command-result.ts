/** What every command answers (api.md): the id it names, the stream version it wrote and where its last event landed. */
export interface CommandResult {
  id: string;
  streamVersion: number;
  position: number;
}

/** The answer of a command from executeCommand's outcome, naming `id`. */
export function commandResult(id: string, outcome: { streamVersion: number; position: number }): CommandResult {
  return { id, streamVersion: outcome.streamVersion, position: outcome.position };
}
