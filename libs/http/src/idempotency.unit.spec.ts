import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import { FixedClock } from '@app/event-store';
import { IdempotencyKeys, type RequestWithIdempotency } from './idempotency';
import { ProblemException } from './problem';

const clock = new FixedClock(new Date('2026-06-30T12:00:00.000Z'));
const dataSource = { query: () => Promise.resolve([]) } as unknown as DataSource;
const keys = () => new IdempotencyKeys(clock, () => 'u1', 86_400_000, dataSource);

/** A keyed command's request, its connection open or already gone, and its response. */
function exchange(key: string, { connectionGone = false } = {}) {
  const headers: Record<string, string> = { 'idempotency-key': key };
  const request = {
    method: 'POST',
    originalUrl: '/trials/T1/patients/P1/visits',
    body: { visitId: 'V1' },
    header: (name: string) => headers[name.toLowerCase()],
    socket: { destroyed: connectionGone },
  } as unknown as RequestWithIdempotency;
  return { request, response: new EventEmitter() as unknown as Response };
}

const inProgress = (claim: () => void) => {
  try {
    claim();
    return false;
  } catch (error) {
    return error instanceof ProblemException && error.problem.code === 'IDEMPOTENCY_KEY_IN_PROGRESS';
  }
};

describe('IdempotencyKeys', () => {
  it('answers a duplicate 409 IN_PROGRESS while the first answer is open, and frees the key when it closes', () => {
    const idempotency = keys();
    const first = exchange('k1');
    idempotency.claim(first.request, first.response);
    expect(first.request.idempotency).toMatchObject({ scope: 'u1', key: 'k1', notBefore: '2026-06-29T12:00:00.000Z' });
    const again = exchange('k1');
    expect(inProgress(() => idempotency.claim(again.request, again.response))).toBe(true);
    first.response.emit('close');
    expect(inProgress(() => idempotency.claim(again.request, again.response))).toBe(false);
  });

  it('never holds a key for a response whose connection was gone before the claim: its close has passed', () => {
    const idempotency = keys();
    const gone = exchange('k2', { connectionGone: true });
    idempotency.claim(gone.request, gone.response);
    // The command still carries the key into its events; only the in-process "in progress" is skipped.
    expect(gone.request.idempotency?.key).toBe('k2');
    const retry = exchange('k2');
    expect(inProgress(() => idempotency.claim(retry.request, retry.response))).toBe(false);
  });

  it('hashes the method, the path and the canonical body: the same body in another key order is the same request', () => {
    const idempotency = keys();
    const one = exchange('k3');
    const other = exchange('k4');
    (one.request as { body: unknown }).body = { visitId: 'V1', visit: '30d' };
    (other.request as { body: unknown }).body = { visit: '30d', visitId: 'V1' };
    idempotency.claim(one.request, one.response);
    idempotency.claim(other.request, other.response);
    // printf 'POST /trials/T1/patients/P1/visits\n{"visit":"30d","visitId":"V1"}' | sha256sum
    expect(one.request.idempotency?.requestHash).toBe('e8d4ba602ecdb06a5f5312a54cd307aa67f24d206e9bf8a4c80bdbdc728fe9e6');
    expect(other.request.idempotency?.requestHash).toBe(one.request.idempotency?.requestHash);
  });
});
