import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import type { Core } from '../../core/plugin';
import type { Job } from '../../core/queues';
import { queueNames } from '../dialer/enqueue';
import * as Audit from './audit';


// The bee-queue queues as Redis holds them (the dialer's queueNames).

type QueueCore = Pick<Core, 'queues' | 'redis'>;

const answerWithin = 5000;


// Redis away must not hang the request (bee-queue waits for a connection without a limit) nor
// answer as a fault of ours

const answered = <T>(promise: Promise<T>) => {

    let timer: NodeJS.Timeout;
    const deadline = new Promise<never>((resolve, reject) => {

        timer = setTimeout(() => reject(new Error('no answer')), answerWithin);
    });

    return Promise.race([promise, deadline])
        .catch(() => Promise.reject(Boom.serverUnavailable('Redis is not answering')))
        .finally(() => clearTimeout(timer));
};


const names = (core: QueueCore) => answered(queueNames(core));


export const list = async (core: QueueCore) => {

    const known = await names(core);
    return await Promise.all(known.map(async (name) => {

        const { waiting, active, delayed, failed } = await answered(core.queues.get(name).checkHealth());
        return { name, waiting, active, delayed, failed };
    }));
};


// A retried job goes back to the end of its queue's waiting list with its data and what is left
// of its retries. Redis is outside any transaction: the audit row is written once the jobs are back.

type Retryable = Job<unknown> & { retry(): Promise<unknown> };                // bee-queue's types leave retry() out


export const retryFailed = async (core: QueueCore & { db: Db }, admin: Audit.Admin, name: string) => {

    if (!(await names(core)).includes(name)) {
        throw Boom.notFound(`No queue ${name}`);
    }

    const queue = core.queues.get(name);
    const { failed } = await answered(queue.checkHealth());
    const jobs = failed ? await answered(queue.getJobs('failed', { size: failed })) : [];
    await answered(Promise.all(jobs.map((job) => (job as Retryable).retry())));

    if (jobs.length) {
        await Audit.record(core.db, admin, { action: 'queue.retry', target_type: 'queue', target_id: name, details: { retried: jobs.length } });
    }

    return { queue: name, retried: jobs.length, message: `${jobs.length} failed jobs back in the queue` };
};
