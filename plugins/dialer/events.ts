import type { Knex } from 'knex';

import { prepared, Statement, type Db } from '../../core/db';
import type { LiveEvent } from '../../core/live';
import { abandonedAfterMs, type AbandonedCall } from './abandonment';
import { appendDecision, liveCallStatuses, next, openJobStatuses, retryable, unansweredEnd, type Outcome } from './outcomes';
import { ProgressWriter } from './progress';
import type { CallEvent } from './telephony';


// handle_call_status: one provider event applied in one transaction to the call, its lead, its
// job, the campaign's counters and the tenant's minutes. Providers repeat and reorder events:
// each (provider call, status) is recorded once and applied at most once, a late event never
// undoes a final one, and the attempt number fences events of an older attempt.
//
// Events arrive by the thousand a second, so each is as few statements as can be: progress
// (started, ringing, answered...) is one; an end is the call read, then one statement that
// writes everything that follows from it, on the condition that the call is still as read.

export interface Applied {
    applied: boolean;
    ended?: { campaignId: string; tenantId: string; callId: string };
    change?: CallChange;
    abandoned?: AbandonedCall;                  // marked abandoned as it ended: its campaign's ceiling to check
}


// An applied event's mark on its call, as the live events tell it

export interface CallChange {
    callId: string;
    tenantId: string;
    campaignId: string;
    status: string;
    outcome: string | null;
    phoneNumber?: string;
}

export const liveCall = (change: CallChange): LiveEvent => ({
    tenant_id: change.tenantId,
    type: 'call',
    campaign_id: change.campaignId,
    call_id: change.callId,
    data: {
        id: change.callId,
        campaign_id: change.campaignId,
        status: change.status,
        outcome: change.outcome,
        ...(change.phoneNumber ? { phone_number: change.phoneNumber } : {})
    }
});


interface CallRow {
    id: string;
    tenant_id: string;
    campaign_id: string;
    lead_id: string;
    job_id: string;
    attempt: number;
    provider_call_id: string | null;
    status: string;
    outcome: Outcome | null;
    machine: boolean;
    goal_achieved: boolean;
    answered_at: Date | null;
    abandoned: boolean | null;
    callback_at: Date | null;
    billed_minutes: number;
    created_at: Date;
    campaign_status: string;
    max_retries: number;
    retry_delay_seconds: number;
    calling_config: { retry_backoff?: number; max_abandonment_rate?: number };
    version: string;
}


const progress = new Set(['started', 'ringing', 'answered', 'machine', 'human', 'disconnected']);

export const isUuid = (value: string | undefined): value is string => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value ?? '');


// The call an event names: by Talky's id from the webhook's query, else by the provider's

const targetById = 'c.id = CAST(:target AS uuid)';

const targetByProviderId = 'c.provider_call_id = :target';

const target = (event: CallEvent) => (isUuid(event.callId) ? { sql: targetById, target: event.callId } : { sql: targetByProviderId, target: event.providerCallId });


const recordEvent = (find: string) => `
    INSERT INTO call_events (call_id, provider_call_id, status, applied, payload)
    VALUES ((SELECT c.id FROM calls c WHERE ${find}), :providerCallId, :status, EXISTS (SELECT 1 FROM calls c WHERE ${find}), :payload)
    ON CONFLICT DO NOTHING RETURNING id`;


const eventBindings = (event: CallEvent) => ({ ...target(event), providerCallId: event.providerCallId, status: event.status, payload: JSON.stringify(event.raw) });


const notApplied = async (knex: Knex, eventId: string) => {

    await knex('call_events').where({ id: eventId }).update({ applied: false });
};


const read = (find: string) => `
    SELECT c.*, c.xmin::text AS version, m.status AS campaign_status, m.max_retries, m.retry_delay_seconds, m.calling_config
    FROM calls c JOIN campaigns m ON m.id = c.campaign_id
    WHERE ${find}`;

const readById = new Statement<CallRow>('talky-call-read-id', read(targetById));

const readByProviderId = new Statement<CallRow>('talky-call-read-uuid', read(targetByProviderId));


// forced: Talky itself ends the call with this outcome (the provider refused it, or it was lost)

export const applyEvent = async (db: Db, event: CallEvent, now: Date, forced?: Outcome): Promise<Applied> => {

    if (!forced && progress.has(event.status)) {
        return await applyProgress(db, event, now);
    }

    const { sql: find, ...bindings } = eventBindings(event);
    for (let i = 0; i < 10; ++i) {
        const [call] = await (find === targetById ? readById : readByProviderId).run(db, bindings);

        if (!call || (event.attempt !== undefined && event.attempt !== call.attempt)) {
            await db.raw(recordEvent(find), bindings);                   // not one of ours, or an older attempt's
            return { applied: false };
        }

        if (!liveCallStatuses.includes(call.status)) {
            return await afterEnd(db, event, find, bindings, now);
        }

        if (!forced && unansweredEnd[event.status] && call.answered_at) {
            await db.raw(recordEvent(find), bindings);                   // an answered call ends with completed
            return { applied: false };
        }

        const result = await end(db, call, forced ? { outcome: forced, durationSeconds: 0 } : endingOf(call, event), event, now);
        if (result !== 'moved') {
            return result;
        }
    }

    throw new Error(`Call ${event.callId ?? event.providerCallId} kept changing while its ${event.status} event was applied`);
};


// Progress of a live call, written with the other progress events of the moment (see progress.ts)

const writers = new WeakMap<Db, ProgressWriter>();              // one per pool: batches share it


const applyProgress = async (db: Db, event: CallEvent, now: Date): Promise<Applied> => {

    const callId = isUuid(event.callId) ? event.callId : (await prepared<{ id: string }>(db, 'talky-call-by-provider-id', 'SELECT id FROM calls WHERE provider_call_id = $1', [event.providerCallId]))[0]?.id ?? null;

    let writer = writers.get(db);
    if (!writer) {
        writer = new ProgressWriter(db);
        writers.set(db, writer);
    }

    const moved = await writer.apply({ event, callId, now });
    return moved ? { applied: true, change: { callId: callId!, ...moved } } : { applied: false };
};


const endingOf = (call: CallRow, event: CallEvent) => {

    const outcome = unansweredEnd[event.status];
    if (outcome) {
        return { outcome, durationSeconds: 0 };
    }

    if (!call.answered_at) {
        return { outcome: 'no_answer' as Outcome, durationSeconds: 0 };     // refined if busy or timeout comes late
    }

    const fromTimes = event.startedAt && event.endedAt ? Math.round((event.endedAt.getTime() - event.startedAt.getTime()) / 1000) : 0;
    const durationSeconds = Math.max(0, Math.round(event.durationSeconds ?? fromTimes));
    const answered: Outcome = call.machine ? 'voicemail' : (call.goal_achieved ? 'goal_achieved' : 'goal_not_achieved');
    return { outcome: answered, durationSeconds };
};


// The call's end and everything that follows from it, in one statement: the event recorded,
// the call ended (if it is still as it was read: its row version), the lead's and the job's next
// step (a retry while retries remain), the campaign's counters and the minutes. The job is fenced
// by the attempt: a newer attempt's job is left alone, and the lead with it. A call that was never
// placed does not count as an attempt: the job goes back to the line at once. One statement
// commits without a round trip in between, so the campaign's and the tenant's rows, which every
// end passes through, are held for as short a time as can be.

const endStatement = new Statement<{ event_id: string | null; ended: boolean; settled: boolean }>('talky-call-end', `
    WITH ev AS (
        INSERT INTO call_events (call_id, provider_call_id, status, applied, payload) VALUES (:callId, :eventProviderCallId, :status, true, :payload)
        ON CONFLICT DO NOTHING RETURNING id
    ),
    call AS (
        UPDATE calls SET status = 'completed', outcome = :outcome, ended_at = :endedAt, duration_seconds = :duration, billed_minutes = :billed,
            price = :price, provider_call_id = COALESCE(provider_call_id, :providerCallId), conversation_id = COALESCE(:conversation, conversation_id),
            abandoned = CASE WHEN :unheard THEN COALESCE(abandoned, true) ELSE abandoned END,
            last_event_at = :now, updated_at = :now
        WHERE id = :callId AND xmin = CAST(:version AS xid) AND EXISTS (SELECT 1 FROM ev)
        RETURNING id
    ),
    job AS (
        UPDATE dialer_jobs SET status = :jobStatus, last_outcome = COALESCE(:result, last_outcome), next_attempt_at = :retryAt,
            last_decision = :decision, decisions = ${appendDecision(':now', ':decision', ':result')}, updated_at = :now
        WHERE id = :jobId AND attempt = :attempt AND EXISTS (SELECT 1 FROM call)
        RETURNING id
    ),
    lead AS (
        UPDATE leads SET status = CASE WHEN status = 'dnc' THEN status ELSE :leadStatus END, last_call_result = COALESCE(:result, last_call_result), last_called_at = COALESCE(:calledAt, last_called_at),
            call_attempts = call_attempts + :attempts, updated_at = :now
        WHERE id = :leadId AND EXISTS (SELECT 1 FROM job)
    ),
    tenant AS (
        UPDATE tenants SET minutes_remaining = minutes_remaining - :billed WHERE id = :tenantId AND :billed > 0 AND EXISTS (SELECT 1 FROM call)
    ),
    campaign AS (
        UPDATE campaigns SET calls_completed = calls_completed + :completed, calls_failed = calls_failed + :failed, updated_at = :now
        WHERE id = :campaignId AND EXISTS (SELECT 1 FROM call) AND CAST(:completed AS integer) + CAST(:failed AS integer) > 0
    )
    SELECT (SELECT id FROM ev) AS event_id, EXISTS (SELECT 1 FROM call) AS ended, EXISTS (SELECT 1 FROM job) AS settled`);


const end = async (db: Db, call: CallRow, ending: { outcome: Outcome; durationSeconds: number }, event: CallEvent, now: Date): Promise<Applied | 'moved'> => {

    const { outcome, durationSeconds } = ending;
    const placed = outcome !== 'not_placed';
    const after = placed ? next(outcome, call.attempt, { status: call.campaign_status, max_retries: call.max_retries, retry_delay_seconds: call.retry_delay_seconds, calling_config: call.calling_config }, now, call.callback_at) : null;
    const decision = after ? (after.job === 'retry_scheduled' ? 'retry' : after.job) : 'not_placed';
    const billed = Math.ceil(durationSeconds / 60);
    const endedAt = event.endedAt ?? event.timestamp;

    // Answered by a person who never heard the agent (its audio never started, as when the voice
    // socket never opened), for longer than the 2 s: abandoned

    const unheard = placed && !!call.answered_at && !call.machine && call.abandoned === null && endedAt.getTime() - call.answered_at.getTime() > abandonedAfterMs;

    const [row] = await endStatement.run(db, {
        callId: call.id, jobId: call.job_id, leadId: call.lead_id, tenantId: call.tenant_id, campaignId: call.campaign_id, attempt: call.attempt, version: call.version,
        status: event.status, eventProviderCallId: event.providerCallId, payload: JSON.stringify(event.raw),
        outcome, endedAt, duration: durationSeconds, billed, price: event.price ?? null,
        providerCallId: event.providerCallId.startsWith('talky:') ? null : event.providerCallId, conversation: event.conversationId ?? null,
        jobStatus: after?.job ?? 'retry_scheduled', retryAt: after ? after.retryAt : now, result: placed ? outcome : null,
        decision, unheard,
        leadStatus: after?.lead ?? 'pending', calledAt: placed ? call.created_at : null, attempts: placed ? 1 : 0,
        completed: placed && call.answered_at ? 1 : 0, failed: placed && !call.answered_at ? 1 : 0,
        now
    });

    if (!row!.event_id) {
        return { applied: false };                                       // a repeat
    }

    if (!row!.ended) {
        await db('call_events').where({ id: row!.event_id }).delete();  // the call moved since it was read: read it again
        return 'moved';
    }

    // After the commit, so that of two last jobs ending together the later sees the other

    if (row!.settled && after && after.job !== 'retry_scheduled') {
        await completeSoon(db, call.campaign_id, now);
    }

    return {
        applied: true,
        ended: { campaignId: call.campaign_id, tenantId: call.tenant_id, callId: call.id },
        change: { callId: call.id, tenantId: call.tenant_id, campaignId: call.campaign_id, status: 'completed', outcome },
        ...(unheard ? { abandoned: { id: call.id, tenant_id: call.tenant_id, campaign_id: call.campaign_id, calling_config: call.calling_config } } : {})
    };
};


// A running campaign whose every job is final has completed: the one named, or (for the
// reconciler, should the process that ended the last job have died before it looked) any

export const completeIfDone = async (knex: Knex, now: Date, campaignId?: string) => {

    return await knex('campaigns as c')
        .where('c.status', 'running')
        .modify((query) => campaignId && query.where('c.id', campaignId))
        .whereExists((jobs) => jobs.select(knex.raw('1')).from('dialer_jobs as j').whereRaw('j.campaign_id = c.id'))
        .whereNotExists((open) => open.select(knex.raw('1')).from('dialer_jobs as j').whereRaw('j.campaign_id = c.id').whereIn('j.status', openJobStatuses))
        .update({ status: 'completed', updated_at: now });
};


// Of the many ends of a busy moment, one check runs at a time per campaign. An end that lands
// while one runs is covered by the next, which starts after it: every end is followed by a check
// that sees its commit, and a campaign of a thousand calls ending together is not checked a
// thousand times.

const checks = new WeakMap<Knex, Map<string, { running: Promise<unknown>; next?: Promise<unknown> }>>();


const completeSoon = (db: Knex, campaignId: string, now: Date): Promise<unknown> => {

    let campaigns = checks.get(db);
    if (!campaigns) {
        campaigns = new Map();
        checks.set(db, campaigns);
    }

    const start = () => {

        const running = completeIfDone(db, now, campaignId).finally(() => {

            if (campaigns.get(campaignId)?.running === running && !campaigns.get(campaignId)?.next) {
                campaigns.delete(campaignId);
            }
        });

        return running;
    };

    const state = campaigns.get(campaignId);
    if (!state) {
        const running = start();
        campaigns.set(campaignId, { running });
        return running;
    }

    state.next ??= state.running.catch(() => undefined).then(() => {

        state.next = undefined;
        state.running = start();
        return state.running;
    });

    return state.next;
};


// Events after the end: a busy or timeout that arrived after completed names the real reason the
// call went unanswered (both retryable, so only the label moves); a completed after the
// reconciler settled a call brings its duration, charged then. Rare: a transaction of its own.

const afterEnd = async (db: Db, event: CallEvent, find: string, bindings: Record<string, unknown>, now: Date): Promise<Applied> => {

    return await db.transaction(async (trx) => {

        const { rows: [call] } = await trx.raw<{ rows: Array<CallRow & { event_id: string | null }> }>(`
            WITH ev AS (${recordEvent(find)})
            SELECT c.*, (SELECT id FROM ev) AS event_id FROM calls c WHERE ${find} FOR UPDATE`, bindings);

        if (!call?.event_id) {
            return { applied: false };
        }

        const refined = unansweredEnd[event.status];
        if (refined && call.outcome === 'no_answer' && !call.answered_at && retryable.has(refined)) {
            await trx('calls').where({ id: call.id }).update({ outcome: refined, updated_at: now });
            await trx('dialer_jobs').where({ id: call.job_id, attempt: call.attempt }).update({ last_outcome: refined });
            await trx('leads').where({ id: call.lead_id, last_call_result: 'no_answer' }).update({ last_call_result: refined });
            return { applied: true };
        }

        if (event.status === 'completed' && call.billed_minutes === 0 && call.answered_at && event.durationSeconds) {
            const billed = Math.ceil(event.durationSeconds / 60);
            await trx('calls').where({ id: call.id }).update({ duration_seconds: Math.round(event.durationSeconds), billed_minutes: billed, updated_at: now });
            await trx('tenants').where({ id: call.tenant_id }).decrement('minutes_remaining', billed);
            return { applied: true };
        }

        await notApplied(trx, call.event_id);
        return { applied: false };
    });
};
