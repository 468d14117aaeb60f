import fc from 'fast-check';
import { Coalescer, type Settled } from './coalescer';

/** A batch executor whose batches the test finishes by hand. */
function manualExecutor() {
  const batches: Array<{ requests: number[]; finish: (results?: Array<Settled<string>>) => void; fail: (error: unknown) => void }> = [];
  const execute = (requests: number[]) =>
    new Promise<Array<Settled<string>>>((resolve, reject) => {
      batches.push({
        requests,
        finish: (results) => resolve(results ?? requests.map((n) => ({ ok: true, value: `r${n}` }))),
        fail: reject,
      });
    });
  return { batches, execute };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  it('sends requests of the same turn together, and the ones that wait while the limit is reached as the next batch', async () => {
    const { batches, execute } = manualExecutor();
    const coalescer = new Coalescer(execute, { maxInFlight: 1, maxBatch: 10 });
    const first = [1, 2, 3].map((n) => coalescer.submit(n));
    await tick();
    expect(batches.map((b) => b.requests)).toEqual([[1, 2, 3]]);
    const second = [4, 5].map((n) => coalescer.submit(n));
    await tick();
    expect(batches).toHaveLength(1); // the one batch allowed is still running
    batches[0]!.finish();
    await expect(Promise.all(first)).resolves.toEqual(['r1', 'r2', 'r3']);
    await tick();
    expect(batches.map((b) => b.requests)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    batches[1]!.finish();
    await expect(Promise.all(second)).resolves.toEqual(['r4', 'r5']);
  });

  it('sends a request alone at once while fewer than maxInFlight batches run', async () => {
    const { batches, execute } = manualExecutor();
    const coalescer = new Coalescer(execute, { maxInFlight: 2, maxBatch: 10 });
    void coalescer.submit(1);
    await tick();
    void coalescer.submit(2);
    await tick();
    void coalescer.submit(3);
    await tick();
    expect(batches.map((b) => b.requests)).toEqual([[1], [2]]);
    batches[0]!.finish();
    await tick();
    expect(batches.map((b) => b.requests)).toEqual([[1], [2], [3]]);
  });

  it('gives each request its own outcome, and a failed batch its error to every request of it', async () => {
    const { batches, execute } = manualExecutor();
    const coalescer = new Coalescer(execute, { maxInFlight: 1, maxBatch: 10 });
    const a = coalescer.submit(1);
    const b = coalescer.submit(2);
    await tick();
    batches[0]!.finish([
      { ok: true, value: 'one' },
      { ok: false, error: new Error('two refused') },
    ]);
    await expect(a).resolves.toBe('one');
    await expect(b).rejects.toThrow('two refused');
    const c = coalescer.submit(3);
    const d = coalescer.submit(4);
    await tick();
    batches[1]!.fail(new Error('connection lost'));
    await expect(c).rejects.toThrow('connection lost');
    await expect(d).rejects.toThrow('connection lost');
    // A short answer is an error, never a request left waiting forever.
    const e = coalescer.submit(5);
    const f = coalescer.submit(6);
    await tick();
    batches[2]!.finish([{ ok: true, value: 'five' }]);
    await expect(e).resolves.toBe('five');
    await expect(f).rejects.toThrow('fewer requests');
  });

  it('property: every request is answered exactly once with its own result, batches never exceed the limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()), { minLength: 1, maxLength: 60 }),
        async (maxInFlight, maxBatch, plan) => {
          let running = 0;
          let peak = 0;
          const sizes: number[] = [];
          const coalescer = new Coalescer<number, number>(
            async (requests) => {
              running++;
              peak = Math.max(peak, running);
              sizes.push(requests.length);
              await tick();
              running--;
              return requests.map((n) => (n % 7 === 3 ? { ok: false, error: new Error(`no ${n}`) } : { ok: true, value: n * 2 }));
            },
            { maxInFlight, maxBatch },
          );
          const answers: Array<Promise<string>> = [];
          let n = 0;
          for (const [pauseTicks, twice] of plan) {
            for (let i = 0; i < pauseTicks; i++) await tick();
            for (const _ of twice ? [0, 1] : [0]) {
              const mine = n++;
              answers.push(
                coalescer.submit(mine).then(
                  (value) => `${mine}:${value}`,
                  (error: Error) => `${mine}:${error.message}`,
                ),
              );
            }
          }
          const settled = await Promise.all(answers);
          expect(settled).toEqual(settled.map((_, i) => (i % 7 === 3 ? `${i}:no ${i}` : `${i}:${i * 2}`)));
          expect(peak).toBeLessThanOrEqual(maxInFlight);
          expect(Math.max(...sizes)).toBeLessThanOrEqual(maxBatch);
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
        },
      ),
      { numRuns: 150 },
    );
  });
});
