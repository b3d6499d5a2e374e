import Crypto from 'crypto';

import type { Knex } from 'knex';

import type { Db } from '../../core/db';
import type { Core } from '../../core/plugin';
import { phoneHash } from '../contacts/dnc';
import { applyEvent, completeIfDone, liveCall } from './events';
import { urgentPriority } from './enqueue';
import type { Gate } from './gate';
import * as Holidays from './holidays';
import { logDecision } from './outcomes';
import { callsAllowAt, plan, strictest, type CallingRule } from './rules';
import type { Slots } from './slots';
import { TelephonyError, type Telephony } from './telephony';
import type { CallingConfig } from './windows';


// One queue message: the dial of one job, after the checks a dialer must make at the moment of
// dialling. A message that is stale (its job moved on) is dropped; a job that may not be called
// now is deferred to its next opening; one whose campaign is full waits for a slot.

export interface DialMessage {
    id: string;
    seq: number;
}

interface DialRow {
    id: string;
    seq: number;
    status: string;
    next_attempt_at: Date | null;
    priority: number;
    tenant_id: string;
    campaign_id: string;
    lead_id: string;
    phone_number: string;
    timezones: string[];
    country: string | null;
    has_consent: boolean;
    lead_status: string;
    campaign_status: string;
    campaign_deleted: boolean;
    max_concurrent_calls: number;
    calling_config: CallingConfig & { ringing_timeout_seconds?: number; machine_detection?: boolean; require_consent?: boolean };
    minutes_remaining: number;
    tenant_limit: number;
    on_dnc: boolean;
    max_calls_per_24h?: number | null;           // the number's limit, found by its screening
}


export interface DialContext {
    core: Core;
    slots: Slots;
    gate: Gate;
    telephony: () => Telephony;
    provider: string;
}


const load = async ({ core: { db } }: DialContext, id: string): Promise<DialRow | undefined> => {

    return await db('dialer_jobs as j')
        .join('leads as l', 'l.id', 'j.lead_id')
        .join('campaigns as c', 'c.id', 'j.campaign_id')
        .join('tenants as t', 't.id', 'j.tenant_id')
        .join('plans as p', 'p.id', 't.plan_id')
        .where('j.id', id)
        .first(
            'j.id', 'j.seq', 'j.status', 'j.next_attempt_at', 'j.priority', 'j.tenant_id', 'j.campaign_id', 'j.lead_id',
            'l.phone_number', 'l.timezones', 'l.country', db.raw('l.consent_at IS NOT NULL AS has_consent'), 'l.status as lead_status',
            'c.status as campaign_status', db.raw('c.deleted_at IS NOT NULL AS campaign_deleted'), 'c.max_concurrent_calls', 'c.calling_config',
            't.minutes_remaining', 'p.max_concurrent_calls as tenant_limit',
            db.raw(`EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.tenant_id = j.tenant_id AND d.phone_hash = encode(sha256(convert_to(l.phone_number, 'UTF8')), 'hex')) AS on_dnc`)
        );
};


const record = async ({ core: { db } }: DialContext, id: string, now: Date, changes: Record<string, unknown>, decision: string, reason: string | null = null) => {

    await db('dialer_jobs').where({ id }).update({ ...changes, last_decision: decision, decisions: logDecision(db, now, decision, reason), updated_at: now });
};


// The checks at the moment of dialling, in order: campaign running, do-not-call list, consent
// when the campaign requires it, minutes, the window with the calling rules and the tenant's
// holidays, the calls per 24 hours. Null: the job may be dialled now; else why not, with the job
// moved on accordingly and the decision logged on it (its audit).

const screen = async (context: DialContext, row: DialRow | undefined, message: DialMessage): Promise<string | null> => {

    const { core: { db, clock } } = context;
    if (!row || row.seq !== message.seq || !['pending', 'retry_scheduled'].includes(row.status) || row.next_attempt_at) {
        return 'stale';
    }

    const now = clock.now();
    if (row.campaign_status !== 'running' || row.campaign_deleted) {
        await record(context, row.id, now, {}, 'held', 'campaign_not_running');
        return 'campaign_not_running';                      // the job waits in Postgres; start re-enqueues it
    }

    if (row.on_dnc || row.lead_status === 'dnc') {
        await end(context, row, now, 'dnc', 'skipped', 'dnc');
        return 'dnc';
    }

    if (row.calling_config.require_consent && !row.has_consent) {
        await end(context, row, now, 'no_consent', 'skipped', 'no_consent');
        return 'no_consent';
    }

    if (row.minutes_remaining <= 0) {
        await db('campaigns').where({ id: row.campaign_id, status: 'running' }).update({ status: 'paused', updated_at: now });
        await record(context, row.id, now, {}, 'deferred', 'no_minutes');
        return 'no_minutes';
    }

    const rule = strictest(await rulesFor(context, row));
    const window = plan(now, row.calling_config, row.timezones, rule.hours, await Holidays.upcoming(db, row.tenant_id, now));
    if (!window.allowed) {
        if (!window.next) {
            await end(context, row, now, 'failed', 'failed', 'no_calling_time');
            return 'no_calling_time';
        }

        await record(context, row.id, now, { next_attempt_at: window.next }, 'deferred', window.reason);
        return 'deferred';
    }

    row.max_calls_per_24h = rule.maxCallsPer24h;
    if (rule.maxCallsPer24h !== null) {
        const allowAt = callsAllowAt(await recentCalls(db, row, now), rule.maxCallsPer24h, now);
        if (allowAt) {
            await record(context, row.id, now, { next_attempt_at: allowAt }, 'deferred', 'max_calls_per_24h');
            return 'deferred';
        }
    }

    return null;
};


// The rules of the number's country, and of its region when one of its prefixes names one. The
// tables are small and change by hand: each process reads them whole, once a minute.

const rulesSql = `
    SELECT r.country, r.region, to_char(r.local_start, 'HH24:MI') AS local_start, to_char(r.local_end, 'HH24:MI') AS local_end, r.max_calls_per_24h,
           COALESCE(array_agg(p.prefix) FILTER (WHERE p.prefix IS NOT NULL), '{}') AS prefixes
    FROM calling_rules r LEFT JOIN phone_regions p ON p.country = r.country AND p.region = r.region
    GROUP BY r.id`;

type RuleRow = CallingRule & { country: string; prefixes: string[] };

const rulesKeptMs = 60_000;

const rules = new WeakMap<Db, { at: number; rows: Promise<RuleRow[]> }>();


const rulesFor = async ({ core: { db } }: DialContext, row: DialRow): Promise<CallingRule[]> => {

    if (!row.country) {
        return [];
    }

    let kept = rules.get(db);
    if (!kept || Date.now() - kept.at > rulesKeptMs) {
        kept = { at: Date.now(), rows: db.raw<{ rows: RuleRow[] }>(rulesSql).then(({ rows: found }) => found) };
        rules.set(db, kept);
        kept.rows.catch(() => rules.delete(db));
    }

    return (await kept.rows).filter((rule) => rule.country === row.country && (rule.region === null || rule.prefixes.some((prefix) => row.phone_number.startsWith(prefix))));
};


// This tenant's calls to the number in the last 24 hours (from any campaign); a call that was
// never placed does not count: not_placed (never reached the provider) nor invalid (refused by it)

const recentCalls = async (knex: Knex, row: DialRow, now: Date): Promise<Date[]> => {

    const calls: Array<{ created_at: Date }> = await knex('calls')
        .where({ tenant_id: row.tenant_id, to_number: row.phone_number })
        .where('created_at', '>', new Date(now.getTime() - 86_400_000))
        .where((q) => q.whereNull('outcome').orWhereNotIn('outcome', ['not_placed', 'invalid']))
        .select('created_at');

    return calls.map((call) => call.created_at);
};


// A job that ends without a call: its lead's status, its own, and perhaps the campaign's

const end = async (context: DialContext, row: DialRow, now: Date, leadStatus: string, jobStatus: string, reason: string) => {

    await context.core.db.transaction(async (trx) => {

        await trx('leads').where({ id: row.lead_id }).update({ status: leadStatus, updated_at: now });
        await record({ ...context, core: { ...context.core, db: trx } }, row.id, now, { status: jobStatus }, jobStatus, reason);
        await completeIfDone(trx, now, row.campaign_id);
    });
};


// How long a screened job stays screened while it waits for a slot: the claim itself checks
// again that the campaign runs and the number is not on the do-not-call list

const rescreenAfterMs = 1000;

const waitNotedAfterMs = 1000;


export const dial = async (context: DialContext, message: DialMessage, stopping: () => boolean = () => false): Promise<string> => {

    const wait: Wait = { note: null };
    try {
        return await dialing(context, message, stopping, wait);
    }
    finally {
        clearTimeout(wait.note ?? undefined);                 // a wait not yet noted is not noted after the end
    }
};


interface Wait {
    note: NodeJS.Timeout | null;                 // the wait's decision, written once it has lasted
}


const dialing = async (context: DialContext, message: DialMessage, stopping: () => boolean, wait: Wait): Promise<string> => {

    const { core: { db }, slots, gate } = context;
    let row: DialRow | undefined;
    let screenedAt = 0;
    let refusals = 0;

    for (;;) {
        if (!row || Date.now() - screenedAt > rescreenAfterMs) {
            const loaded = await load(context, message.id);
            const verdict = await screen(context, loaded, message);
            if (verdict || !loaded) {
                return verdict ?? 'stale';
            }

            row = loaded;
            screenedAt = Date.now();
        }

        const holder = { campaignId: row.campaign_id, tenantId: row.tenant_id, callId: Crypto.randomUUID() };
        const urgent = row.priority >= urgentPriority;
        const limits = { campaign: row.max_concurrent_calls, tenant: row.tenant_limit };
        const acquired = await slots.acquire(holder, limits);
        if (acquired === 'lost') {
            await slots.restore(db);
            continue;
        }

        if (acquired !== 'acquired') {
            if (stopping()) {
                return 'stopping';
            }

            // Said once per message, and only of a wait that lasts: a slot that frees within a
            // second is the dialer's normal pace, not worth a write per call

            if (!wait.note) {
                const waiting = row;
                wait.note = setTimeout(() => void record(context, waiting.id, context.core.clock.now(), {}, 'waiting', acquired).catch(() => undefined), waitNotedAfterMs);
            }

            await gate.waitForSlot(row.campaign_id, row.tenant_id, urgent);
            continue;
        }

        clearTimeout(wait.note ?? undefined);
        try {
            await gate.paced(row.tenant_id, urgent);
            if (stopping()) {
                await slots.release(holder);
                return 'stopping';
            }

            // Still held? Redis may have lost it while this dial waited for its turn

            if (await slots.acquire(holder, limits) !== 'acquired') {
                continue;
            }

            const attempt = await claim(context, row, holder.callId);
            if (attempt === 'limited') {
                await slots.release(holder);
                return 'deferred';                          // another dial to the number took the last call of its 24 hours
            }

            if (attempt === null) {
                await slots.release(holder);
                if (refusals++) {
                    return 'stale';                         // twice refused: the lead is on a call already
                }

                row = undefined;                            // screened again, to say why
                continue;
            }

            gate.freed(row.campaign_id, row.tenant_id);      // the next waiter of the campaign may find room too
            context.core.live.publish(liveCall({ callId: holder.callId, tenantId: row.tenant_id, campaignId: row.campaign_id, status: 'dialing', outcome: null, phoneNumber: row.phone_number }));
            await place(context, row, holder.callId, attempt);
            return 'dialed';
        }
        catch (err) {
            await slots.release(holder).catch(() => undefined);
            throw err;
        }
    }
};


// The attempt is committed before the provider is asked, in one statement: the job's claim
// (fenced by its seq, and only while the campaign runs and the number is not on the do-not-call
// list), the call row (at most one live per lead, by a unique index), and the lead's status

const claimSql = `
    WITH job AS (
        UPDATE dialer_jobs j SET status = 'dialing', attempt = j.attempt + 1, last_decision = 'dialed', decisions = ?, updated_at = ?
        WHERE j.id = ? AND j.seq = ? AND j.status IN ('pending', 'retry_scheduled') AND j.next_attempt_at IS NULL
          AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = j.campaign_id AND c.status = 'running' AND c.deleted_at IS NULL)
          AND NOT EXISTS (SELECT 1 FROM dnc_numbers d WHERE d.tenant_id = j.tenant_id AND d.phone_hash = ?)
        RETURNING j.id, j.attempt, j.tenant_id, j.campaign_id, j.lead_id
    ), call AS (
        INSERT INTO calls (id, tenant_id, campaign_id, lead_id, job_id, attempt, provider, to_number, status, last_event_at, created_at, updated_at)
        SELECT ?, tenant_id, campaign_id, lead_id, id, attempt, ?, ?, 'dialing', ?, ?, ? FROM job
        RETURNING attempt
    ), lead AS (
        UPDATE leads SET status = 'calling', updated_at = ? WHERE id = (SELECT lead_id FROM job)
    )
    SELECT attempt FROM call`;


// A number with a limit of calls per 24 hours is claimed holding a lock on it (for its tenant),
// counting its calls again: two dials to it (two campaigns, two leads) screened together would
// each find room for one more. Numbers without a limit take no lock and no count.

const claimLimitedSql = 'SELECT pg_advisory_xact_lock(hashtext(\'talky:calls-to\'), hashtext(?))';


const claim = async (context: DialContext, row: DialRow, callId: string): Promise<number | null | 'limited'> => {

    const { core: { db, clock } } = context;
    const now = clock.now();
    const attempt = async (knex: Knex) => {

        const { rows } = await knex.raw<{ rows: Array<{ attempt: number }> }>(claimSql, [
            logDecision(knex, now, 'dialed'),
            now, row.id, row.seq, phoneHash(row.phone_number),
            callId, context.provider, row.phone_number, now, now, now,
            now
        ]);

        return rows[0]?.attempt ?? null;
    };

    try {
        const limit = row.max_calls_per_24h ?? null;
        if (limit === null) {
            return await attempt(db);
        }

        return await db.transaction(async (trx) => {

            await trx.raw(claimLimitedSql, [`${row.tenant_id}:${row.phone_number}`]);
            const allowAt = callsAllowAt(await recentCalls(trx, row, now), limit, now);
            if (!allowAt) {
                return await attempt(trx);
            }

            await trx('dialer_jobs').where({ id: row.id, seq: row.seq }).whereIn('status', ['pending', 'retry_scheduled']).whereNull('next_attempt_at')
                .update({ next_attempt_at: allowAt, last_decision: 'deferred', decisions: logDecision(trx, now, 'deferred', 'max_calls_per_24h'), updated_at: now });

            return 'limited' as const;
        });
    }
    catch (err) {
        if ((err as { constraint?: string }).constraint === 'calls_one_live_per_lead') {
            return null;                                    // the lead is on a call already
        }

        throw err;
    }
};


const place = async (context: DialContext, row: DialRow, callId: string, attempt: number) => {

    const { core: { db, clock, logger } } = context;
    try {
        const placed = await context.telephony().placeCall({
            callId,
            attempt,
            to: row.phone_number,
            ringingTimeoutSeconds: row.calling_config.ringing_timeout_seconds,
            machineDetection: row.calling_config.machine_detection
        });

        await db('calls').where({ id: callId }).whereNull('provider_call_id').update({ provider_call_id: placed.providerCallId, conversation_id: placed.conversationId ?? null, updated_at: clock.now() });
    }
    catch (err) {
        if (!(err instanceof TelephonyError)) {
            // It may or may not have been placed: its webhooks will tell, or the reconciler will

            logger.warn({ err, call: callId }, 'placing a call failed without an answer from the provider');
            return;
        }

        // Refused: the call ends here, through the same path as a provider's event

        const outcome = err.retryable ? 'not_placed' : 'invalid';
        await settle(context, callId, outcome, err.message);
    }
};


// Ends a call that no provider event will end (refused, never placed, or lost)

export const settle = async (context: DialContext, callId: string, outcome: 'not_placed' | 'invalid' | 'failed', reason: string) => {

    const { core: { clock } } = context;
    const now = clock.now();
    const status = outcome === 'failed' ? 'failed' : (outcome === 'invalid' ? 'rejected' : 'cancelled');
    const result = await applyEvent(context.core.db, {
        callId,
        providerCallId: `talky:${callId}`,
        status,
        timestamp: now,
        raw: { source: 'talky', outcome, reason }
    }, now, outcome);

    if (result.ended) {
        await context.slots.release(result.ended);
    }

    if (result.change) {
        context.core.live.publish(liveCall(result.change));
    }

    return result;
};
