import { unixSocketOf } from './data-source';

describe('DATABASE_URL with a Unix socket (libpq ?host=/dir)', () => {
  it.each([
    ['postgres://u@localhost/db?host=%2Fvar%2Frun%2Fpostgresql', { host: '/var/run/postgresql' }],
    ['postgresql://u:p@localhost:5432/db?host=/tmp&sslmode=disable', { host: '/tmp' }],
    ['postgres://u@db.example.org/db', {}],
    // A host name in ?host= is TCP: the URL's own host name decides, as before.
    ['postgres://u@localhost/db?host=db.example.org', {}],
    ['not a url', {}],
  ])('%s', (url, expected) => {
    expect(unixSocketOf(url)).toEqual(expected);
  });
});
