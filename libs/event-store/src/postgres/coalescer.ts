/** One request's outcome within a batch: its value, or the error it alone gets. */
export type Settled<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

export interface CoalescerLimits {
  /** Batches of this kind running at once; a request that finds them all busy waits for the next batch. */
  maxInFlight: number;
  /** Requests in one batch at most. */
  maxBatch: number;
}

interface Waiting<Request, Result> {
  request: Request;
  resolve: (value: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers requests of one kind (stream reads, appends) into batches, each carried out by one
 * statement. Nothing waits on a timer: a request leaves at once while fewer than `maxInFlight`
 * batches are running, and otherwise joins the requests that wait for the next one to finish. So
 * one request alone costs what it did, and under load each round trip to the database serves many
 * (a round trip costs the process ~0.1–0.3 ms of CPU, whatever it carries).
 *
 * `execute` answers each request of the batch in order; if it throws, every request of the batch
 * gets that error.
 */
export class Coalescer<Request, Result> {
  private readonly waiting: Array<Waiting<Request, Result>> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly execute: (requests: Request[]) => Promise<Array<Settled<Result>>>,
    private readonly limits: CoalescerLimits,
  ) {}

  submit(request: Request): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      // Requests submitted in the same turn of the event loop leave together.
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    while (this.inFlight < this.limits.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.limits.maxBatch);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Array<Waiting<Request, Result>>): Promise<void> {
    let results: Array<Settled<Result>>;
    try {
      results = await this.execute(batch.map((waiting) => waiting.request));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, i) => {
      const result = results[i];
      if (result === undefined) waiting.reject(new Error('the batch answered fewer requests than it was given'));
      else if (result.ok) waiting.resolve(result.value);
      else waiting.reject(result.error);
    });
  }
}
