import type { Core } from '../../core/plugin';
import type { Redis } from '../../core/redis';
import { dial, type DialContext, type DialMessage } from './dial';
import { priorityQueue, resend, tenantQueue, tenantsChannel, tenantsKey } from './enqueue';
import { promoteDue, reconcile } from './reconciler';


// The dialer's worker side, started only in roles that run workers: a consumer for the priority
// queue and one for each tenant's queue (found in Redis, and at once by pub/sub when a campaign
// starts), the wake-ups of slot waiters, a one-second tick for jobs whose time has come, and
// the reconciler.

export class DialerWorker {

    private subscriber: Redis | null = null;
    private readonly timers: NodeJS.Timeout[] = [];
    private stopping = false;
    private reconciling: Promise<unknown> | null = null;

    constructor(private readonly context: DialContext) { }

    private get core(): Core {

        return this.context.core;
    }

    start() {

        const { config, redis, logger } = this.core;
        this.consume(priorityQueue);

        this.subscriber = redis.duplicate();
        this.subscriber.on('error', () => undefined);                // the main client reports outages
        this.subscriber.subscribe(this.context.slots.channel, tenantsChannel(config.redisPrefix)).catch(() => undefined);
        this.subscriber.on('message', (channel: string, message: string) => {

            if (channel === this.context.slots.channel) {
                const [campaignId, tenantId] = message.split(' ');
                this.context.gate.freed(campaignId!, tenantId!);
                return;
            }

            message.split(' ').forEach((tenantId) => this.consume(tenantQueue(tenantId)));
        });

        const every = (ms: number, task: () => Promise<unknown>, name: string) => {

            this.timers.push(setInterval(() => task().catch((err) => logger.warn({ err }, `dialer ${name} failed`)), ms).unref());
        };

        every(1000, async () => {

            this.context.gate.sweep();
            await this.discover();
            await promoteDue(this.core);
        }, 'tick');

        every(config.dialerReconcileSeconds * 1000, () => this.reconcile(), 'reconciler');
        this.discover().catch(() => undefined);
    }

    // One pass at a time, whoever asks (the timer, or a test)

    reconcile() {

        this.reconciling ??= reconcile(this.context, this.core.config.dialerStuckCallMinutes * 60_000).finally(() => (this.reconciling = null));
        return this.reconciling;
    }

    // Waiting dials are let go before core stops the queue workers; each hands its job back

    stop() {

        this.stopping = true;
        this.timers.splice(0).forEach(clearInterval);
        this.context.gate.close();
        this.subscriber?.disconnect();
    }

    private async discover() {

        const tenants = await this.core.redis.smembers(tenantsKey);
        tenants.forEach((tenantId) => this.consume(tenantQueue(tenantId)));
    }

    private consume(queue: string) {

        const { queues, config } = this.core;
        if (!this.stopping && !queues.handled.includes(queue)) {
            queues.process<DialMessage, string>(queue, (job) => this.dial(job.data), { concurrency: config.dialerConcurrency });
        }
    }

    // A dial let go by a stopping worker: a new message, so another worker takes it at once

    private async dial(message: DialMessage) {

        const outcome = await dial(this.context, message, () => this.stopping);
        if (outcome === 'stopping') {
            await resend(this.core, [message.id]).catch(() => undefined);
        }

        return outcome;
    }
}
