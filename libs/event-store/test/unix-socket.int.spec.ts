import { existsSync } from 'node:fs';
import { openDataSource } from '../src';

const serverUrl = process.env.DATABASE_URL;
const SOCKET_DIR = '/var/run/postgresql';
const socketUrl = (() => {
  if (!serverUrl) return undefined;
  const url = new URL(serverUrl);
  if (!existsSync(`${SOCKET_DIR}/.s.PGSQL.${url.port || '5432'}`)) return undefined;
  return `postgres://${url.username}@localhost${url.pathname}?host=${encodeURIComponent(SOCKET_DIR)}`;
})();

describe('a PostgreSQL server through its Unix socket', () => {
  if (!socketUrl) {
    it('skipped: no DATABASE_URL or no local socket', () => {
      console.log(`skipped: no PostgreSQL socket in ${SOCKET_DIR} for DATABASE_URL`);
    });
    return;
  }

  it('connects through the socket, not TCP, with ?host=<dir>', async () => {
    const dataSource = await openDataSource({ databaseUrl: socketUrl });
    try {
      // inet_server_addr() is NULL on a Unix-socket connection.
      expect(await dataSource.query('SELECT inet_server_addr() AS addr')).toEqual([{ addr: null }]);
    } finally {
      await dataSource.destroy();
    }
  });
});
