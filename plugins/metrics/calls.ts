import type { Server } from '@hapi/hapi';
import { Gauge, type Registry } from 'prom-client';

import type { Db } from '../../core/db';
import { liveCallStatuses } from '../dialer/outcomes';
import type { Readings } from './registry';


// Calls live in Postgres, counted at scrape time. The calls table is the dialer's: without the
// dialer in this process nothing is read.

export const measureLiveCalls = (server: Server, db: Db, readings: Readings, registry: Registry) => new Gauge({
    name: 'talky_calls_live',
    help: 'Calls live in Postgres by status (dialing, ringing, in_progress), across every process of the install, read at scrape time: aggregate with max, not sum.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {

        if (!('dialer' in server.registrations)) {
            return;
        }

        const read = await readings.read('calls', () => db.raw<{ rows: Array<{ status: string; n: number }> }>('SELECT status, count(*)::int AS n FROM calls WHERE status = ANY(?) GROUP BY status', [liveCallStatuses]));
        this.reset();
        if (read) {
            const counts = new Map(read.rows.map((row) => [row.status, row.n]));
            for (const status of liveCallStatuses) {
                this.set({ status }, counts.get(status) ?? 0);
            }
        }
    }
});
