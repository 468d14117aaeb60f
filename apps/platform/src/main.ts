import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { Logger } from 'nestjs-pino';
import { PlatformModule } from './platform.module';
import { NEST_OPTIONS, configureHttp } from './setup';
import type { PlatformConfig } from './config';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(PlatformModule.forRoot(), NEST_OPTIONS);
  app.useLogger(app.get(Logger));
  configureHttp(app);
  const config = app.get<ConfigService<PlatformConfig, true>>(ConfigService);
  const port = config.get('PORT', { infer: true });
  await app.listen(port);
  const where = config.get('DATABASE_URL', { infer: true }) ? 'PostgreSQL server' : `embedded PGlite in ${config.get('DATA_DIR', { infer: true })}`;
  app.get(Logger).log(`listening on http://localhost:${port} (event store: ${where})`);
}

void bootstrap();
