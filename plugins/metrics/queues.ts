import { Gauge, type Registry } from 'prom-client';

import type { Core } from '../../core/plugin';
import { queueNames } from '../dialer/enqueue';
import type { Readings } from './registry';


const states = ['waiting', 'active', 'delayed', 'failed'] as const;


// Each queue, read with bee-queue's checkHealth at scrape time. The names are the dialer's queueNames:
// the queues some plugin handles here and the dialer's, which an api process never consumes.
// Queues live in Redis: every process reports the same numbers.

export const measureQueues = (core: Pick<Core, 'queues' | 'redis'>, readings: Readings, registry: Registry) => new Gauge({
    name: 'talky_queue_jobs',
    help: 'Jobs held in each bee-queue queue by state (waiting, active, delayed, failed), read from Redis at scrape time. Every process reports the same queues: aggregate with max, not sum.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {

        const known = await readings.read('queues', () => queueNames(core)) ?? [];
        const read = await Promise.all(known.map(async (name) => ({ name, health: await readings.read('queues', () => core.queues.get(name).checkHealth()) })));

        // Set in one go once every queue has answered, so that overlapping scrapes see whole sets

        this.reset();
        for (const { name, health } of read) {
            if (!health) {
                continue;                                           // left out, counted as a failed reading
            }

            for (const state of states) {
                this.set({ queue: name, state }, health[state]);
            }
        }
    }
});
