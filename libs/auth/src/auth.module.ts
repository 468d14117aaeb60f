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
  /**
   * True (the default): AuthGuard guards every route. False: it is only provided, for a guard of
   * the app's own that calls it first (the API's ApiGuard), so that no other global guard can run
   * before it, whatever the order Nest applies global guards in.
   */
  globalGuard?: boolean;
}

/** Bearer-token authentication for every route, with the JwtVerifier available to all modules. */
@Global()
@Module({})
export class AuthModule {
  /** Resolves the JWT settings at boot and registers the global AuthGuard (or provides it, with `globalGuard: false`). */
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
        options.globalGuard === false ? AuthGuard : { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [JWT_SETTINGS, JwtVerifier, ...(options.globalGuard === false ? [AuthGuard] : [])],
    };
  }
}
