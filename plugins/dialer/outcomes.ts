import type { Knex } from 'knex';

import type { CallStatus } from './telephony';


// What a call came to, and what follows for its lead and job (the API reference's status map
// and retry lists). A call that was answered ends goal_achieved or goal_not_achieved (the voice
// pipeline says which), or voicemail when a machine took it.

export const outcomes = ['answered', 'goal_achieved', 'goal_not_achieved', 'voicemail', 'busy', 'no_answer', 'failed', 'rejected', 'invalid', 'not_placed'] as const;

export type Outcome = typeof outcomes[number];

export const retryable = new Set<Outcome>(['busy', 'no_answer', 'failed', 'voicemail']);

// Provider statuses that end a call which was never answered

export const unansweredEnd: Partial<Record<CallStatus, Outcome>> = {
    busy: 'busy',
    timeout: 'no_answer',
    unanswered: 'no_answer',
    failed: 'failed',
    cancelled: 'failed',
    rejected: 'rejected'
};


export const liveCallStatuses = ['dialing', 'ringing', 'in_progress'];


// A call's number once its person was erased (the privacy plugin): nothing more is kept for it,
// a recording that comes late included

export const erasedNumber = 'erased';

export const openJobStatuses = ['pending', 'retry_scheduled', 'dialing', 'in_call'];

export const jobStatuses = [...openJobStatuses, 'completed', 'failed', 'cancelled', 'skipped'];


export interface Next {
    job: 'retry_scheduled' | 'completed' | 'failed' | 'cancelled';
    lead: 'pending' | 'contacted' | 'completed' | 'failed';
    retryAt: Date | null;
}


// After a call's final outcome: a retry while retries remain, else the end of the lead's road.
// A call back the person asked for (the voice agent's tool) is kept unless the goal was reached.

export const next = (outcome: Outcome, attempt: number, campaign: { status: string; max_retries: number; retry_delay_seconds: number; calling_config: { retry_backoff?: number } }, now: Date, callbackAt: Date | null = null): Next => {

    if (callbackAt && outcome !== 'goal_achieved' && campaign.status !== 'stopped') {
        return { job: 'retry_scheduled', lead: 'pending', retryAt: callbackAt };
    }

    if (retryable.has(outcome) && attempt <= campaign.max_retries) {
        if (campaign.status === 'stopped') {
            return { job: 'cancelled', lead: 'pending', retryAt: null };
        }

        const delay = campaign.retry_delay_seconds * (campaign.calling_config.retry_backoff ?? 1) ** (attempt - 1);
        return { job: 'retry_scheduled', lead: 'pending', retryAt: new Date(now.getTime() + delay * 1000) };
    }

    if (outcome === 'goal_achieved') {
        return { job: 'completed', lead: 'completed', retryAt: null };
    }

    if (outcome === 'goal_not_achieved') {
        return { job: 'completed', lead: 'contacted', retryAt: null };
    }

    return { job: 'failed', lead: 'failed', retryAt: null };
};


// A job's decision log (its audit) keeps its last hundred entries

export const appendDecision = (at: string, decision: string, reason: string) => {

    return `jsonb_path_query_array(decisions || jsonb_build_array(jsonb_build_object('at', CAST(${at} AS timestamptz), 'decision', CAST(${decision} AS text), 'reason', CAST(${reason} AS text))), '$[last - 99 to last]')`;
};


export const logDecision = (knex: Knex, at: Date, decision: string, reason: string | null = null) => knex.raw(appendDecision('?', '?', '?'), [at, decision, reason]);
