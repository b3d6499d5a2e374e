import BeeQueue from 'bee-queue';
import type { Logger } from 'pino';


export type Job<T> = BeeQueue.Job<T>;

export type JobHandler<T = unknown, R = unknown> = (job: BeeQueue.Job<T>) => Promise<R>;

export interface ProcessOptions {
    concurrency?: number;
    keepFailed?: boolean;                        // failed jobs stay for an admin to retry (not for jobs Postgres can rebuild)
}


// bee-queue's node_redis clients emit 'error' with no listener when a connection that was never
// ready fails again, which would end the process during a Redis outage. Every client it makes gets
// a listener here; the queue's own 'error' event still reports the outage.

const NodeRedis = require('redis') as { createClient: (...args: unknown[]) => { on: (event: string, listener: () => void) => void }; talkyGuarded?: boolean };

if (!NodeRedis.talkyGuarded) {
    const createClient = NodeRedis.createClient;
    NodeRedis.createClient = (...args) => {

        const client = createClient(...args);
        client.on('error', () => undefined);
        return client;
    };

    NodeRedis.talkyGuarded = true;
}


// bee-queue retries raising delayed jobs at once when Redis aborts the command, which spins the
// event loop for as long as Redis is away. This queue spaces those retries out instead.

class Queue extends BeeQueue {

    private nextActivation = 0;
    private pendingActivation: NodeJS.Timeout | null = null;

    _activateDelayed() {

        if (this.paused || this.pendingActivation) {
            return;
        }

        const wait = this.nextActivation - Date.now();
        if (wait > 0) {
            this.pendingActivation = setTimeout(() => {

                this.pendingActivation = null;
                this._activateDelayed();
            }, wait).unref();

            return;
        }

        this.nextActivation = Date.now() + 250;
        (BeeQueue.prototype as unknown as { _activateDelayed: () => void })._activateDelayed.call(this);
    }
}


const addScript = `
local added = 0
for i = 1, #ARGV, 2 do
    if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
        redis.call('LPUSH', KEYS[2], ARGV[i])
        added = added + 1
    end
end
return added
`;

const addBatch = 1000;


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
    private stopped = true;

    constructor(private readonly options: { url: string; prefix: string; logger: Logger; stallInterval?: number }) { }

    get(name: string): BeeQueue {

        let queue = this.producers.get(name);
        if (!queue) {
            queue = this.create(name, { isWorker: false, getEvents: false, sendEvents: false, storeJobs: false });
            this.producers.set(name, queue);
        }

        return queue;
    }

    // Many jobs with ids of their own at once: bee-queue's addJob (an id already held is left
    // alone) for a batch in one script, where saveAll runs it once per job

    async add(name: string, jobs: Array<{ id: string; data: object }>) {

        const queue = this.get(name) as unknown as { _commandable(): Promise<{ eval(...args: unknown[]): void }>; toKey(key: string): string };
        const client = await queue._commandable();
        const timestamp = Date.now();
        let added = 0;
        for (let i = 0; i < jobs.length; i += addBatch) {
            const args = jobs.slice(i, i + addBatch).flatMap((job) => [job.id, JSON.stringify({ data: job.data, options: { timestamp, stacktraces: [] }, status: 'created', progress: 0 })]);
            added += await new Promise<number>((resolve, reject) => client.eval(addScript, 2, queue.toKey('jobs'), queue.toKey('waiting'), ...args, (err: Error | null, count: number) => (err ? reject(err) : resolve(count))));
        }

        return added;
    }

    // Which of these job ids the queue still holds (waiting, delayed or running)

    async held(name: string, ids: string[]) {

        const queue = this.get(name) as unknown as { _commandable(): Promise<{ hmget(key: string, fields: string[], done: (err: Error | null, values: Array<string | null>) => void): void }>; toKey(key: string): string };
        if (!ids.length) {
            return new Set<string>();
        }

        const client = await queue._commandable();
        const values = await new Promise<Array<string | null>>((resolve, reject) => client.hmget(queue.toKey('jobs'), ids, (err, found) => (err ? reject(err) : resolve(found))));
        return new Set(ids.filter((_, i) => values[i] !== null));
    }

    process<T, R>(name: string, handler: JobHandler<T, R>, options: ProcessOptions = {}) {

        if (this.workers.some((worker) => worker.name === name)) {
            throw new Error(`Queue ${name} already has a handler`);
        }

        const worker = { name, handler, options };
        this.workers.push(worker);
        if (!this.stopped) {
            this.startWorker(worker);                       // a queue found at run time, such as a new tenant's
        }
    }

    get handled() {

        return this.workers.map((worker) => worker.name);
    }

    // Not waiting for Redis: a worker whose Redis is down starts, reports it, and begins when it answers

    start() {

        this.stopped = false;
        for (const worker of this.workers) {
            this.startWorker(worker);
        }
    }

    private startWorker(worker: Worker) {

        const stallInterval = this.options.stallInterval ?? 5000;
        const queue = this.create(worker.name, { isWorker: true, getEvents: false, activateDelayedJobs: true, stallInterval, removeOnFailure: !worker.options.keepFailed });
        this.consumers.push(queue);

        queue.ready().then(() => {

            if (this.stopped) {
                return;                                     // stopped while connecting
            }

            queue.process(worker.options.concurrency ?? 1, worker.handler);
            this.stalledTimers.push(setInterval(() => queue.checkStalledJobs().catch(() => undefined), stallInterval).unref());
        }, async () => {

            // bee-queue gives up on a connection that never became ready: try again with a new one

            this.consumers.splice(this.consumers.indexOf(queue), 1);
            await queue.close(1).catch(() => undefined);
            if (!this.stopped) {
                setTimeout(() => !this.stopped && this.startWorker(worker), 2000).unref();
            }
        });
    }

    // Lets running jobs finish for up to timeout ms; bee-queue hands unfinished ones back as stalled

    async stopWorkers(timeout: number) {

        this.stopped = true;
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

        const queue = new Queue(name, {
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
