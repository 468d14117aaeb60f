import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { StableShapeExpressAdapter } from '@app/http';
import { AppLogger, describeListening, refuseToStart } from '@app/runtime';
import type { GatewayConfig } from './config';
import { GatewayModule } from './gateway.module';
import { GATEWAY_NEST_OPTIONS, configureGateway } from './setup';

async function bootstrap(): Promise<void> {
  try {
    // abortOnError: false so a failed start throws here and exits with a message, not an abort.
    // Express on a server whose requests keep their V8 shapes, as the services' (StableShapeExpressAdapter).
    const app = await NestFactory.create(GatewayModule.forRoot(), new StableShapeExpressAdapter(), {
      ...GATEWAY_NEST_OPTIONS,
      abortOnError: false,
      autoFlushLogs: false,
    });
    const logger = app.get(AppLogger);
    app.useLogger(logger);
    app.flushLogs();
    configureGateway(app);
    const config = app.get<ConfigService<GatewayConfig, true>>(ConfigService);
    const port = config.get('PORT', { infer: true });
    const host = config.get('HOST', { infer: true });
    await (host === undefined ? app.listen(port) : app.listen(port, host));
    const listening = describeListening((app.getHttpServer() as { address(): AddressInfo | string | null }).address(), port);
    logger.log(`gateway listening on ${listening}`, 'Lifecycle');
  } catch (error) {
    refuseToStart('gateway', error);
  }
}

void bootstrap();
