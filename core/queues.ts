import BeeQueue from 'bee-queue';
import type { Logger } from 'pino';


export type Job<T> = BeeQueue.Job<T>;

export type JobHandler<T = unknown, R = unknown> = (job: BeeQueue.Job<T>) => Promise<R>;

export interface ProcessOptions {
    concurrency?: number;
}


interface Worker {
    name: string;
    handler: JobHandler<any, any>;
    options: ProcessOptions;
}


// bee-queue on the install's Redis. Producers are made on first use (so a process whose Redis is
// down still starts); plugins declare their handlers with process(), and core starts them only in
// the roles that run workers. Postgres stays the truth: queue records are removed once settled.

export class Queues {

    private readonly producers = new Map<string, BeeQueue>();
    private readonly consumers: BeeQueue[] = [];
    private readonly workers: Worker[] = [];
    private stalledTimers: NodeJS.Timeout[] = [];

    constructor(private readonly options: { url: string; prefix: string; logger: Logger; stallInterval?: number }) { }

    get(name: string): BeeQueue {

        let queue = this.producers.get(name);
        if (!queue) {
            queue = this.create(name, { isWorker: false, getEvents: false, sendEvents: false });
            this.producers.set(name, queue);
        }

        return queue;
    }

    process<T, R>(name: string, handler: JobHandler<T, R>, options: ProcessOptions = {}) {

        if (this.workers.some((worker) => worker.name === name)) {
            throw new Error(`Queue ${name} already has a handler`);
        }

        this.workers.push({ name, handler, options });
    }

    get handled() {

        return this.workers.map((worker) => worker.name);
    }

    async start() {

        const stallInterval = this.options.stallInterval ?? 5000;

        for (const { name, handler, options } of this.workers) {
            const queue = this.create(name, { isWorker: true, getEvents: false, activateDelayedJobs: true, stallInterval });
            queue.process(options.concurrency ?? 1, handler);
            this.consumers.push(queue);
            this.stalledTimers.push(setInterval(() => queue.checkStalledJobs().catch(() => undefined), stallInterval).unref());
        }

        await Promise.all(this.consumers.map((queue) => queue.ready()));
    }

    // Lets running jobs finish for up to timeout ms; bee-queue hands unfinished ones back as stalled

    async stopWorkers(timeout: number) {

        this.stalledTimers.forEach(clearInterval);
        this.stalledTimers = [];

        const consumers = this.consumers.splice(0);
        await Promise.all(consumers.map((queue) => queue.close(timeout).catch(() => undefined)));
    }

    // Producers close last, once no request can still be enqueuing

    async close() {

        const producers = [...this.producers.values()];
        this.producers.clear();
        await Promise.all(producers.map((queue) => queue.close(0).catch(() => undefined)));
    }

    private create(name: string, settings: BeeQueue.QueueSettings) {

        const queue = new BeeQueue(name, {
            prefix: `${this.options.prefix}:bq`,
            redis: { url: this.options.url } as BeeQueue.QueueSettings['redis'],
            removeOnSuccess: true,
            removeOnFailure: true,
            ...settings
        });

        queue.on('error', (err) => this.options.logger.warn({ err: { message: err.message }, queue: name }, 'queue error'));
        queue.on('failed', (job, err) => this.options.logger.error({ err, queue: name, job: job.id }, 'job failed'));
        return queue;
    }
}
