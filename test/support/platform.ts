import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { signToken, type Principal, type Role } from '../../libs/auth/src';
import { DATA_SOURCE, FixedClock } from '../../libs/event-store/src';
import { PlatformModule } from '../../apps/platform/src/platform.module';
import { NEST_OPTIONS, configureHttp } from '../../libs/runtime/src';

export const TEST_SECRET = 'e2e-secret-0123456789-0123456789-0123456789';

export interface RunningPlatform {
  app: INestApplication;
  http: ReturnType<typeof request>;
  clock: FixedClock;
  dataSource: DataSource;
  token(roles: Role | Role[], options?: { sub?: string; name?: string; sites?: string[] }): Promise<string>;
  /** Events written by requests; case streams, which a subscriber derives in the background, are left out. */
  eventCount(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Boots the platform exactly as main.ts does, on an in-memory PGlite or, with `databaseUrl`,
 * on a PostgreSQL server (a fresh schema per boot is not needed: tests use unique ids).
 */
export async function startPlatform(options: { databaseUrl?: string; today?: string } = {}): Promise<RunningPlatform> {
  const saved = { ...process.env };
  process.env.JWT_SECRET = TEST_SECRET;
  process.env.LOG_LEVEL = 'silent';
  process.env.DATA_DIR = 'memory://';
  if (options.databaseUrl) process.env.DATABASE_URL = options.databaseUrl;
  else delete process.env.DATABASE_URL;
  const clock = new FixedClock(new Date(`${options.today ?? '2026-06-30'}T12:00:00.000Z`));
  try {
    const app = await NestFactory.create(PlatformModule.forRoot({ clock }), {
      ...NEST_OPTIONS,
      bufferLogs: false,
      logger: false,
      abortOnError: false,
    });
    configureHttp(app);
    await app.listen(0);
    const dataSource = app.get<DataSource>(DATA_SOURCE);
    return {
      app,
      http: request(app.getHttpServer()),
      clock,
      dataSource,
      token: (roles, o = {}) => {
        const list = Array.isArray(roles) ? roles : [roles];
        const principal: Principal = {
          userId: o.sub ?? `user-${list.join('-')}`,
          name: o.name ?? `Dr. ${list.join(' ')}`,
          roles: list,
          sites: o.sites ?? [],
        };
        return signToken(principal, TEST_SECRET);
      },
      eventCount: async () =>
        Number((await dataSource.query(`SELECT count(*) AS n FROM es_events WHERE stream_id NOT LIKE 'case/%'`))[0].n),
      close: () => app.close(),
    };
  } finally {
    process.env = saved;
  }
}

let counter = 0;
/** A fresh id per call, so suites sharing a server database never collide. */
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter += 1)}`;
