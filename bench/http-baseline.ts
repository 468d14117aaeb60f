/**
 * The baseline of `npm run bench:http`: the least a command endpoint can do on the platform's HTTP stack. Nest 11 on
 * Express (StableShapeExpressAdapter, as the platform) with the platform's security headers and JSON body parser, a
 * `pg` pool of the platform's size; each request's body is validated with the command's own zod schema
 * (libs/contracts) and INSERTed as one row (one statement, one commit). No auth, no event store, no idempotency, no
 * read model.
 *
 *   BASELINE_DATABASE_URL=postgres://… PORT=0 tsx bench/http-baseline.ts
 *
 * Run with tsx: no constructor injection by type (esbuild emits no decorator metadata), only @Inject(token).
 */
import 'reflect-metadata';
import { BadRequestException, Body, Controller, HttpCode, Inject, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import pg from 'pg';
import type { ZodType } from 'zod';
import { CorrectionBody, EnrollPatientBody, RecordProcedureBody, RecordVisitBody, ReportAdverseEventBody } from '@app/contracts';
import { StableShapeExpressAdapter, applySecurity } from '@app/http';

const POOL = 'BASELINE_POOL';
/** The platform's pool: libs/event-store's openDataSource defaults to 20 connections. */
const POOL_SIZE = 20;

const SCHEMAS: Record<string, ZodType> = {
  patients: EnrollPatientBody,
  procedures: RecordProcedureBody,
  visits: RecordVisitBody,
  'adverse-events': ReportAdverseEventBody,
  corrections: CorrectionBody,
};

@Controller('baseline')
class BaselineController {
  constructor(@Inject(POOL) private readonly pool: pg.Pool) {}

  @Post(':kind')
  @HttpCode(201)
  async record(@Param('kind') kind: string, @Body() body: unknown): Promise<{ id: string }> {
    const schema = SCHEMAS[kind];
    const parsed = schema?.safeParse(body);
    if (!parsed?.success) throw new BadRequestException(kind);
    const { rows } = await this.pool.query<{ id: string }>('INSERT INTO baseline_rows (kind, body) VALUES ($1, $2) RETURNING id::text', [
      kind,
      JSON.stringify(parsed.data),
    ]);
    return { id: rows[0]!.id };
  }
}

@Module({
  controllers: [BaselineController],
  providers: [
    {
      provide: POOL,
      useFactory: () => new pg.Pool({ connectionString: process.env.BASELINE_DATABASE_URL, max: POOL_SIZE }),
    },
  ],
})
class BaselineModule {}

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: process.env.BASELINE_DATABASE_URL, max: 1 });
  await pool.query(
    'CREATE TABLE IF NOT EXISTS baseline_rows (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text NOT NULL, body jsonb NOT NULL)',
  );
  await pool.end();
  // The platform's HTTP stack: Express on a server that constructs requests with Express's prototypes.
  const app = await NestFactory.create<NestExpressApplication>(BaselineModule, new StableShapeExpressAdapter(), {
    bodyParser: false,
    logger: ['error'],
  });
  applySecurity(app, { corsOrigins: [] });
  app.useBodyParser('json', { limit: '256kb', strict: true, type: ['application/json', 'application/*+json'] });
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`listening on http://localhost:${address.port}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
