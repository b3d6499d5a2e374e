import type { Knex } from 'knex';

import type { Db } from '../../core/db';
import { liveCallStatuses, logDecision, next, openJobStatuses, retryable, unansweredEnd, type Outcome } from './outcomes';
import type { CallEvent } from './telephony';


// handle_call_status: one provider event applied in one transaction to the call, its lead, its
// job, the campaign's counters and the tenant's minutes. Providers repeat and reorder events:
// each (provider call, status) is recorded once and applied at most once, a late event never
// undoes a final one, and the attempt number fences events of an older attempt.

export interface Applied {
    applied: boolean;
    ended?: { campaignId: string; tenantId: string; callId: string };
}


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
    billed_minutes: number;
    created_at: Date;
}


const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


const findCall = async (trx: Knex.Transaction, event: CallEvent): Promise<CallRow | undefined> => {

    if (event.callId && uuid.test(event.callId)) {
        const call = await trx('calls').where({ id: event.callId }).forUpdate().first();
        if (call) {
            return call;
        }
    }

    return await trx('calls').where({ provider_call_id: event.providerCallId }).forUpdate().first();
};


// forced: Talky itself ends the call with this outcome (the provider refused it, or it was lost)

export const applyEvent = async (db: Db, event: CallEvent, now: Date, forced?: Outcome): Promise<Applied> => {

    return await db.transaction(async (trx) => {

        const call = await findCall(trx, event);
        const recorded = await trx.raw(`INSERT INTO call_events (call_id, provider_call_id, status, applied, payload) VALUES (?, ?, ?, true, ?) ON CONFLICT DO NOTHING RETURNING id`,
            [call?.id ?? null, event.providerCallId, event.status, JSON.stringify(event.raw)]);

        if (!recorded.rows.length) {
            return { applied: false };                                   // a repeat
        }

        const applied = call && (event.attempt === undefined || event.attempt === call.attempt) ? await apply(trx, call, event, now, forced) : { applied: false };
        if (!applied.applied) {
            await trx('call_events').where({ id: recorded.rows[0].id }).update({ applied: false });
        }

        return applied;
    });
};


const apply = async (trx: Knex.Transaction, call: CallRow, event: CallEvent, now: Date, forced?: Outcome): Promise<Applied> => {

    const live = liveCallStatuses.includes(call.status);
    if (forced) {
        return live ? await end(trx, call, { outcome: forced, durationSeconds: 0 }, event, now) : { applied: false };
    }

    const changes: Record<string, unknown> = { updated_at: now };
    if (!call.provider_call_id) {
        changes.provider_call_id = event.providerCallId;
    }

    if (event.conversationId) {
        changes.conversation_id = event.conversationId;
    }

    if (!live) {
        return await afterEnd(trx, call, event, changes);
    }

    changes.last_event_at = now;
    switch (event.status) {
        case 'started':
        case 'ringing':
            if (call.status === 'dialing') {
                changes.status = 'ringing';
            }

            break;

        case 'answered':
            Object.assign(changes, { status: 'in_progress', outcome: 'answered', answered_at: event.timestamp });
            await trx('dialer_jobs').where({ id: call.job_id, attempt: call.attempt }).update({ status: 'in_call', updated_at: now });
            break;

        case 'machine':
            changes.machine = true;
            break;

        case 'completed':
            return await end(trx, { ...call, ...changes } as CallRow, endingOf(call, event), event, now);

        default: {
            const outcome = unansweredEnd[event.status];
            if (outcome && !call.answered_at) {
                return await end(trx, { ...call, ...changes } as CallRow, { outcome, durationSeconds: 0 }, event, now);
            }
        }
    }

    await trx('calls').where({ id: call.id }).update(changes);
    return { applied: true };
};


const endingOf = (call: CallRow, event: CallEvent) => {

    if (!call.answered_at) {
        return { outcome: 'no_answer' as Outcome, durationSeconds: 0 };     // refined if busy or timeout comes late
    }

    const fromTimes = event.startedAt && event.endedAt ? Math.round((event.endedAt.getTime() - event.startedAt.getTime()) / 1000) : 0;
    const durationSeconds = Math.max(0, Math.round(event.durationSeconds ?? fromTimes));
    const outcome: Outcome = call.machine ? 'voicemail' : (call.goal_achieved ? 'goal_achieved' : 'goal_not_achieved');
    return { outcome, durationSeconds };
};


// The call's end: everything that follows from it, in the same transaction

export const end = async (trx: Knex.Transaction, call: CallRow, ending: { outcome: Outcome; durationSeconds: number }, event: Pick<CallEvent, 'timestamp' | 'endedAt' | 'price'>, now: Date): Promise<Applied> => {

    const { outcome, durationSeconds } = ending;
    const billed = Math.ceil(durationSeconds / 60);
    const { provider_call_id: providerCallId, conversation_id: conversationId } = call as CallRow & { conversation_id?: string };
    await trx('calls').where({ id: call.id }).update({
        status: 'completed',
        outcome,
        provider_call_id: providerCallId,
        conversation_id: conversationId,
        machine: call.machine,
        answered_at: call.answered_at,
        ended_at: event.endedAt ?? event.timestamp,
        duration_seconds: durationSeconds,
        billed_minutes: billed,
        price: event.price ?? null,
        last_event_at: now,
        updated_at: now
    });

    // The campaign's and the tenant's rows are shared by every call: locked last, held briefly

    const campaign = await trx('campaigns').where({ id: call.campaign_id }).first('status', 'max_retries', 'retry_delay_seconds', 'calling_config');
    const final = await settleJob(trx, call, outcome, campaign, now);
    if (outcome !== 'not_placed') {
        await trx('campaigns').where({ id: call.campaign_id }).increment(call.answered_at ? 'calls_completed' : 'calls_failed', 1);
    }

    if (billed) {
        await trx('tenants').where({ id: call.tenant_id }).decrement('minutes_remaining', billed);
    }

    if (final) {
        await completeIfDone(trx, call.campaign_id, now);
    }

    return { applied: true, ended: { campaignId: call.campaign_id, tenantId: call.tenant_id, callId: call.id } };
};


const settleJob = async (trx: Knex.Transaction, call: CallRow, outcome: Outcome, campaign: Parameters<typeof next>[2], now: Date): Promise<boolean> => {

    const job = await trx('dialer_jobs').where({ id: call.job_id, attempt: call.attempt }).forUpdate().first('id');
    if (!job) {
        return false;                                                    // a newer attempt owns the job
    }

    // A call the provider never placed does not count as an attempt: the job goes back to the line

    if (outcome === 'not_placed') {
        await trx('leads').where({ id: call.lead_id }).update({ status: 'pending', updated_at: now });
        await trx('dialer_jobs').where({ id: job.id }).update({ status: 'retry_scheduled', next_attempt_at: now, last_decision: 'not_placed', decisions: logDecision(trx, now, 'not_placed'), updated_at: now });
        return false;
    }

    const after = next(outcome, call.attempt, campaign, now);
    await trx('leads').where({ id: call.lead_id }).update({
        status: after.lead,
        last_call_result: outcome,
        last_called_at: call.created_at,
        call_attempts: trx.raw('call_attempts + 1'),
        updated_at: now
    });

    await trx('dialer_jobs').where({ id: job.id }).update({
        status: after.job,
        last_outcome: outcome,
        next_attempt_at: after.retryAt,
        last_decision: after.job === 'retry_scheduled' ? 'retry' : after.job,
        decisions: logDecision(trx, now, after.job === 'retry_scheduled' ? 'retry' : after.job, outcome),
        updated_at: now
    });

    return after.job !== 'retry_scheduled';
};


// A running campaign whose every job is final has completed

export const completeIfDone = async (knex: Knex, campaignId: string, now: Date) => {

    await knex('campaigns')
        .where({ id: campaignId, status: 'running' })
        .whereNotExists((open) => open.select(knex.raw('1')).from('dialer_jobs').where({ campaign_id: campaignId }).whereIn('status', openJobStatuses))
        .update({ status: 'completed', updated_at: now });
};


// Events after the end: a busy or timeout that arrived after completed names the real reason the
// call went unanswered (both retryable, so only the label moves); a completed after the
// reconciler settled a call brings its duration, charged then.

const afterEnd = async (trx: Knex.Transaction, call: CallRow, event: CallEvent, changes: Record<string, unknown>): Promise<Applied> => {

    const refined = unansweredEnd[event.status];
    if (refined && call.outcome === 'no_answer' && !call.answered_at && retryable.has(refined)) {
        await trx('calls').where({ id: call.id }).update({ ...changes, outcome: refined });
        await trx('dialer_jobs').where({ id: call.job_id, attempt: call.attempt }).update({ last_outcome: refined });
        await trx('leads').where({ id: call.lead_id, last_call_result: 'no_answer' }).update({ last_call_result: refined });
        return { applied: true };
    }

    if (event.status === 'completed' && call.billed_minutes === 0 && call.answered_at && event.durationSeconds) {
        const billed = Math.ceil(event.durationSeconds / 60);
        await trx('calls').where({ id: call.id }).update({ ...changes, duration_seconds: Math.round(event.durationSeconds), billed_minutes: billed });
        await trx('tenants').where({ id: call.tenant_id }).decrement('minutes_remaining', billed);
        return { applied: true };
    }

    return { applied: false };
};

