import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigService } from '@nestjs/config';
import { Logger } from 'nestjs-pino';
import type { GatewayConfig } from './config';
import { GatewayModule } from './gateway.module';
import { GATEWAY_NEST_OPTIONS, configureGateway } from './setup';

async function bootstrap(): Promise<void> {
  try {
    // abortOnError: false so a failed start throws here and exits with a message, not an abort.
    const app = await NestFactory.create(GatewayModule.forRoot(), { ...GATEWAY_NEST_OPTIONS, abortOnError: false });
    app.useLogger(app.get(Logger));
    configureGateway(app);
    const port = app.get<ConfigService<GatewayConfig, true>>(ConfigService).get('PORT', { infer: true });
    await app.listen(port);
    app.get(Logger).log(`gateway listening on http://localhost:${port}`);
  } catch (error) {
    process.stderr.write(`gateway: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

void bootstrap();
