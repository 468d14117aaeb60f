import { type DynamicModule, Global, Logger, Module, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { resolveJwtSettings, type JwtSettingsInput } from './jwt-settings';
import { JWT_SETTINGS, JwtVerifier } from './jwt-verifier';

/** How AuthModule reads its settings when the app boots. */
export interface AuthModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  inject?: Array<string | symbol | (abstract new (...args: never[]) => unknown)>;
  useFactory: (...deps: never[]) => JwtSettingsInput | Promise<JwtSettingsInput>;
}

/** Bearer-token authentication for every route, with the JwtVerifier available to all modules. */
@Global()
@Module({})
export class AuthModule {
  /** Resolves the JWT settings at boot and registers the global AuthGuard. */
  static forRootAsync(options: AuthModuleAsyncOptions): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: JWT_SETTINGS,
          inject: options.inject ?? [],
          useFactory: async (...deps: never[]) => {
            const logger = new Logger('Auth');
            return resolveJwtSettings(await options.useFactory(...deps), (line) => logger.log(line));
          },
        },
        JwtVerifier,
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [JWT_SETTINGS, JwtVerifier],
    };
  }
}
