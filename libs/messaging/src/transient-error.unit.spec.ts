import { isTransientInfrastructureError } from './transient-error';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isTransientInfrastructureError', () => {
  it.each([
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
    ["node-postgres' dead connection", new Error('Connection terminated unexpectedly')],
    ["the pool's connect timeout", new Error('timeout exceeded when trying to connect')],
    [
      'a server shutting down (57P01) inside a TypeORM error',
      Object.assign(new Error('query failed'), { driverError: withCode('terminating connection', '57P01') }),
    ],
    ['a server starting up (57P03)', withCode('the database system is starting up', '57P03')],
    ['too many connections (53300)', withCode('sorry, too many clients already', '53300')],
    ['a connection exception (08006) as a cause', new Error('wrapped', { cause: withCode('connection failure', '08006') })],
  ])('is true for %s', (_name, error) => {
    expect(isTransientInfrastructureError(error)).toBe(true);
  });

  it.each([
    ['a handler error', new Error('unknown site S99')],
    ['a unique violation (23505)', withCode('duplicate key value violates unique constraint', '23505')],
    [
      'a syntax error (42601) inside a TypeORM error',
      Object.assign(new Error('query failed'), { driverError: withCode('syntax error', '42601') }),
    ],
    ['not an error', 'Connection terminated'],
    ['undefined', undefined],
  ])('is false for %s', (_name, error) => {
    expect(isTransientInfrastructureError(error)).toBe(false);
  });
});
