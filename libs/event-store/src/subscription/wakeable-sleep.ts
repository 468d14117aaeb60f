/**
 * The pause of a polling loop that `wake()` ends early: a poller waits for its interval or for
 * news (an append, a stop), whichever comes first.
 */
export class WakeableSleep {
  private current: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.current = done;
    });
  }

  /** Ends the pause in progress, if any. */
  wake(): void {
    this.current?.();
  }
}
