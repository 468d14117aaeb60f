import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { DurableSubscription } from '../subscription/durable-subscription';

/** A Nest provider that runs one durable subscription for the life of the application. */
export abstract class SubscribedService implements OnApplicationBootstrap, OnApplicationShutdown {
  abstract readonly subscription: DurableSubscription;

  onApplicationBootstrap(): void {
    this.subscription.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription.stop();
  }
}
