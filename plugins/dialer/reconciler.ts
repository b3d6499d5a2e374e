import type { Core } from '../../core/plugin';
import { settle, type DialContext } from './dial';
import { applyEvent, completeIfDone } from './events';
import { enqueue, missing, resend, type Enqueueable } from './enqueue';
import { liveCallStatuses, logDecision, unansweredEnd } from './outcomes';


// Postgres is the truth and Redis a hint. These passes bring the hint back in line with the
// truth: slots of live calls are renewed (or rebuilt), jobs whose time has come go onto the
// queues, messages Redis lost are sent again, and calls that never heard their end are settled.


// How long a job may sit without its message before the reconciler sends it again, and how long
// a call may wait for the provider's first word about it

const enqueueGraceMs = 15_000;

export const unplacedAfterMs = 120_000;

const page = 2000;


// Jobs deferred or awaiting a retry whose time has come: each is taken by one worker (skip locked)

export const promoteDue = async (core: Core) => {

    const { db, clock } = core;
    let total = 0;
    for (;;) {
        const { rows } = await db.raw<{ rows: Enqueueable[] }>(`
            WITH due AS (
                SELECT j.id FROM dialer_jobs j JOIN campaigns c ON c.id = j.campaign_id
                WHERE j.next_attempt_at <= ? AND j.status IN ('pending', 'retry_scheduled') AND c.status = 'running'
                ORDER BY j.next_attempt_at LIMIT ${page}
                FOR UPDATE OF j SKIP LOCKED
            )
            UPDATE dialer_jobs j SET status = 'pending', next_attempt_at = NULL, seq = j.seq + 1, updated_at = ?
            FROM due WHERE j.id = due.id
            RETURNING j.id, j.seq, j.tenant_id, j.priority`, [clock.now(), clock.now()]);

        if (!rows.length) {
            return total;
        }

        await enqueue(core, rows);
        total += rows.length;
    }
};


// Waiting jobs of running campaigns whose message Redis no longer holds (a restart, a flush)

export const requeueLost = async (core: Core) => {

    const { db, clock } = core;
    const before = new Date(clock.now().getTime() - enqueueGraceMs);
    let after = '00000000-0000-0000-0000-000000000000';
    let total = 0;
    for (;;) {
        const jobs: Enqueueable[] = await db('dialer_jobs as j')
            .join('campaigns as c', 'c.id', 'j.campaign_id')
            .where('c.status', 'running').where('j.status', 'pending').whereNull('j.next_attempt_at')
            .where('j.updated_at', '<', before).where('j.id', '>', after)
            .orderBy('j.id').limit(page)
            .select('j.id', 'j.seq', 'j.tenant_id', 'j.priority');

        if (!jobs.length) {
            return total;
        }

        after = jobs.at(-1)!.id;
        const lost = await missing(core, jobs);
        if (lost.length) {
            total += await resend(core, lost.map((job) => job.id));
        }
    }
};


// Calls without an end: never placed (no word from the provider), or silent for too long

export const settleStuck = async (context: DialContext, stuckMs: number) => {

    const { core: { db, clock } } = context;
    const now = clock.now().getTime();
    const unplaced: Array<{ id: string }> = await db('calls').where({ status: 'dialing' }).whereNull('provider_call_id')
        .where('created_at', '<', new Date(now - unplacedAfterMs)).select('id');

    for (const { id } of unplaced) {
        await settle(context, id, 'not_placed', 'no word from the provider');
    }

    const silent: Array<{ id: string; provider_call_id: string | null }> = await db('calls').whereIn('status', liveCallStatuses).whereNotNull('provider_call_id')
        .where('last_event_at', '<', new Date(now - stuckMs)).select('id', 'provider_call_id');

    for (const call of silent) {
        const known = await context.telephony().lookup?.(call.provider_call_id!).catch(() => null);
        if (known && (known.status === 'completed' || unansweredEnd[known.status])) {
            const result = await applyEvent(db, { ...known, callId: call.id }, clock.now());
            if (result.ended) {
                await context.slots.release(result.ended);
                continue;
            }
        }

        await settle(context, call.id, 'failed', 'no final event from the provider');
    }

    return unplaced.length + silent.length;
};


// A call that ended as its campaign was being stopped may have scheduled a retry: cancelled here

export const cancelStopped = async (core: Core) => {

    const now = core.clock.now();
    return await core.db('dialer_jobs')
        .whereIn('status', ['pending', 'retry_scheduled'])
        .whereIn('campaign_id', (stopped) => stopped.select('id').from('campaigns').where({ status: 'stopped' }))
        .update({ status: 'cancelled', next_attempt_at: null, last_decision: 'cancelled', decisions: logDecision(core.db, now, 'cancelled', 'campaign_stopped'), updated_at: now });
};


export const reconcile = async (context: DialContext, stuckMs: number) => {

    await context.slots.restore(context.core.db);
    await cancelStopped(context.core);
    const promoted = await promoteDue(context.core);
    const requeued = await requeueLost(context.core);
    const settled = await settleStuck(context, stuckMs);
    await completeIfDone(context.core.db, context.core.clock.now());
    return { promoted, requeued, settled };
};
