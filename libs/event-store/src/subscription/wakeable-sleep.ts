/**
 * The pause of a polling loop that `wake()` ends early: a poller waits for its interval or for
 * news (an append, a stop), whichever comes first. News that comes while the loop is not paused
 * (it is handling a batch) is kept, and the next pause ends at once: otherwise an event appended
 * during a batch would wait a whole interval, or for the next append, to be seen.
 */
export class WakeableSleep {
  private current: (() => void) | undefined;
  private woken = false;

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.current === done) this.current = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.current = done;
    });
  }

  /** Ends the pause in progress, or the next one if none is. */
  wake(): void {
    if (this.current) this.current();
    else this.woken = true;
  }
}
