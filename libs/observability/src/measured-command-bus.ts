import type { DynamicModule } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { CommandBus, CqrsModule, type AsyncContext, type Command, type CqrsModuleOptions, type ICommand } from '@nestjs/cqrs';
import { toProblem } from '@app/http';
import { TrialsMetrics } from './trials-metrics';

/** The outcome label of a refused command: the problem code its HTTP answer carries. */
export function commandOutcome(error: unknown): string {
  return toProblem(error).problem.code;
}

/**
 * The command bus that counts and times every command by its class name and outcome. It measures
 * around the whole of `execute`, so a command the bus refuses before any handler runs (none
 * registered) is counted under its own name too. It returns exactly what the bus returns: a
 * synchronous throw stays synchronous, results and errors pass through unchanged.
 */
export class MeasuredCommandBus extends CommandBus {
  constructor(
    moduleRef: ModuleRef,
    private readonly metrics: TrialsMetrics,
    options?: CqrsModuleOptions,
  ) {
    super(moduleRef, options);
  }

  override execute<R = void>(command: Command<R>): Promise<R>;
  override execute<R = void>(command: Command<R>, context?: AsyncContext): Promise<R>;
  override execute<T extends ICommand, R = unknown>(command: T, context?: AsyncContext): Promise<R>;
  override execute(command: ICommand, context?: AsyncContext): Promise<unknown> {
    const name = command.constructor.name;
    const timer = this.metrics.commandDuration.startTimer({ command: name });
    const settle = (outcome: string) => {
      this.metrics.commands.inc({ command: name, outcome });
      timer({ outcome });
    };
    let running: Promise<unknown>;
    try {
      running = super.execute(command, context);
    } catch (error) {
      settle(commandOutcome(error));
      throw error;
    }
    return running.then(
      (result) => {
        settle('ok');
        return result;
      },
      (error: unknown) => {
        settle(commandOutcome(error));
        throw error;
      },
    );
  }
}

/**
 * `CqrsModule.forRoot(options)` whose CommandBus is a MeasuredCommandBus when MetricsModule is in the
 * application (a plain CommandBus otherwise). The provider replaces the module's own CommandBus, so the
 * bus CqrsModule registers the handlers on is the one every controller is given.
 */
export function measuredCqrsModule(options: CqrsModuleOptions = {}): DynamicModule {
  const cqrs = CqrsModule.forRoot(options);
  return {
    ...cqrs,
    providers: [
      ...(cqrs.providers ?? []),
      {
        provide: CommandBus,
        inject: [ModuleRef, { token: TrialsMetrics, optional: true }],
        useFactory: (moduleRef: ModuleRef, metrics: TrialsMetrics | undefined) =>
          metrics ? new MeasuredCommandBus(moduleRef, metrics, options) : new CommandBus(moduleRef, options),
      },
    ],
  };
}
