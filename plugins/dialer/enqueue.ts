import type { Core } from '../../core/plugin';


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


export const tenantQueue = (tenantId: string) => `dial-tenant-${tenantId}`;

export const queueOf = (job: Pick<Enqueueable, 'tenant_id' | 'priority'>) => (job.priority >= urgentPriority ? priorityQueue : tenantQueue(job.tenant_id));

export const messageId = (job: Pick<Enqueueable, 'id' | 'seq'>) => `${job.id}:${job.seq}`;


// Workers learn of tenant queues from this set, and at once from the channel

export const tenantsKey = 'dialer:tenants';


// Every queue of the install, as Redis holds them: those some plugin handles here, and the
// dialer's, which an api process never consumes (for the admin API and the metrics)

export const queueNames = async ({ queues, redis }: Pick<Core, 'queues' | 'redis'>) => {

    const tenants = await redis.smembers(tenantsKey);
    return [...new Set([...queues.handled, priorityQueue, ...tenants.map(tenantQueue)])].sort();
};

export const tenantsChannel = (prefix: string) => `${prefix}:dialer:tenants`;


const byQueue = (jobs: Enqueueable[]) => {

    const groups = new Map<string, Enqueueable[]>();
    for (const job of jobs) {
        const name = queueOf(job);
        const group = groups.get(name) ?? [];
        group.push(job);
        groups.set(name, group);
    }

    return groups;
};


export const enqueue = async ({ queues, redis, config }: Core, jobs: Enqueueable[]) => {

    const tenants = [...new Set(jobs.filter((job) => job.priority < urgentPriority).map((job) => job.tenant_id))];
    if (tenants.length) {
        await redis.sadd(tenantsKey, ...tenants);
        await redis.publish(tenantsChannel(config.redisPrefix), tenants.join(' '));
    }

    // Each queue has its own connection: they fill side by side

    await Promise.all([...byQueue(jobs)].map(async ([name, list]) => {

        await queues.add(name, list.map((job) => ({ id: messageId(job), data: { id: job.id, seq: job.seq } })));
    }));
};


// A new message for each of these jobs that still waits to be dialled now: the old message, if
// any is left, no longer names the job's seq and is dropped

export const resend = async (core: Core, ids: string[]) => {

    const { rows } = await core.db.raw<{ rows: Enqueueable[] }>(`
        UPDATE dialer_jobs SET seq = seq + 1, updated_at = ?
        WHERE id = ANY(?::uuid[]) AND status = 'pending' AND next_attempt_at IS NULL
        RETURNING id, seq, tenant_id, priority`, [core.clock.now(), ids]);

    await enqueue(core, rows);
    return rows.length;
};


// Which jobs' messages Redis no longer holds: the reconciler's question after a restart or a flush

export const missing = async ({ queues }: Core, jobs: Enqueueable[]) => {

    const lost: Enqueueable[] = [];
    for (const [name, list] of byQueue(jobs)) {
        const held = await queues.held(name, list.map(messageId));
        lost.push(...list.filter((job) => !held.has(messageId(job))));
    }

    return lost;
};
