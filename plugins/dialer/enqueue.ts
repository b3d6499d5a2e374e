import type { Queues } from '../../core/queues';
import type { Redis } from '../../core/redis';


// Dial jobs travel through bee-queue: priority 8 and above through the one priority queue, the
// rest through their tenant's queue. A message carries only the job's id and seq; Postgres holds
// the rest, and a message whose seq is no longer the job's is dropped by the worker.

export interface Enqueueable {
    id: string;
    seq: number;
    tenant_id: string;
    priority: number;
}

export const priorityQueue = 'dial-priority';

export const urgentPriority = 8;


export const queueOf = (job: Pick<Enqueueable, 'tenant_id' | 'priority'>) => (job.priority >= urgentPriority ? priorityQueue : `dial-tenant-${job.tenant_id}`);

export const messageId = (job: Pick<Enqueueable, 'id' | 'seq'>) => `${job.id}:${job.seq}`;


// Workers learn of tenant queues from this set, and at once from the channel

export const tenantsKey = 'dialer:tenants';

export const tenantsChannel = (prefix: string) => `${prefix}:dialer:tenants`;


export const enqueue = async (queues: Queues, redis: Redis, prefix: string, jobs: Enqueueable[]) => {

    const byQueue = new Map<string, Enqueueable[]>();
    for (const job of jobs) {
        const name = queueOf(job);
        const list = byQueue.get(name) ?? [];
        list.push(job);
        byQueue.set(name, list);
    }

    const tenants = [...new Set(jobs.filter((job) => job.priority < urgentPriority).map((job) => job.tenant_id))];
    if (tenants.length) {
        await redis.sadd(tenantsKey, ...tenants);
        await redis.publish(tenantsChannel(prefix), tenants.join(' '));
    }

    // Each queue has its own connection: they fill side by side

    await Promise.all([...byQueue].map(async ([name, list]) => {

        await queues.add(name, list.map((job) => ({ id: messageId(job), data: { id: job.id, seq: job.seq } })));
    }));
};


// Which messages Redis still holds: the reconciler's question after a restart or a flush

export const missing = async (redis: Redis, jobs: Enqueueable[]) => {

    const pipeline = redis.pipeline();
    for (const job of jobs) {
        pipeline.hexists(`bq:${queueOf(job)}:jobs`, messageId(job));
    }

    const results = await pipeline.exec();
    return jobs.filter((_, i) => results![i]![1] === 0);
};
