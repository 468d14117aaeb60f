import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { createApiApp } from '@app/runtime';
import { PlatformModule } from '../src/platform.module';

async function boot(env: Record<string, string | undefined>): Promise<INestApplication> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  try {
    const app = await createApiApp(PlatformModule.forRoot(), { logger: false, abortOnError: false });
    await app.listen(0);
    return app;
  } finally {
    process.env = saved;
  }
}

describe('platform over HTTP', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'platform-e2e-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('answers /health on the embedded default and keeps its data across restarts', async () => {
    let app = await boot({ DATABASE_URL: undefined, DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    try {
      const response = await request(app.getHttpServer()).get('/health').expect(200);
      expect(response.body).toMatchObject({ status: 'ok', info: { eventStore: { status: 'up', engine: 'pglite' } } });
    } finally {
      await app.close();
    }
    // A second boot on the same directory finds its migrations done and starts again.
    app = await boot({ DATABASE_URL: undefined, DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    try {
      await request(app.getHttpServer()).get('/health').expect(200);
    } finally {
      await app.close();
    }
  });

  const url = process.env.DATABASE_URL;
  (url ? it : it.skip)('answers /health on a PostgreSQL server', async () => {
    const app = await boot({ DATABASE_URL: url, JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789', LOG_LEVEL: 'silent' });
    try {
      const response = await request(app.getHttpServer()).get('/health').expect(200);
      expect(response.body.info.eventStore).toEqual({ status: 'up', engine: 'postgresql' });
    } finally {
      await app.close();
    }
  });

  it('refuses to start on a plain Express adapter, which would answer without ETag and Idempotent-Replayed', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { DATA_DIR: 'memory://', JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789', LOG_LEVEL: 'silent' });
    delete process.env.DATABASE_URL;
    try {
      const app = await NestFactory.create(PlatformModule.forRoot(), { logger: false, abortOnError: false });
      await expect(app.init()).rejects.toThrow(/ApiHttpAdapter/);
      await app.close().catch(() => undefined);
    } finally {
      process.env = saved;
    }
  });

  it('refuses to start on an invalid configuration, naming the variable', async () => {
    await expect(boot({ PORT: 'not-a-port', LOG_LEVEL: 'silent' })).rejects.toThrow(/PORT/);
  });

  (url ? it : it.skip)('refuses to start against a server without a JWT secret or JWKS URL', async () => {
    await expect(boot({ DATABASE_URL: url, JWT_SECRET: undefined, JWT_JWKS_URL: undefined, LOG_LEVEL: 'silent' })).rejects.toThrow(
      /JWT_SECRET/,
    );
  });
});
