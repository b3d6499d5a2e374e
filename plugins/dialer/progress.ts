import { prepared, type Db } from '../../core/db';
import { liveCallStatuses } from './outcomes';
import type { CallEvent } from './telephony';


// Progress events (started, ringing, answered, machine...) are three in four of the webhooks a
// campaign brings, and each is a small write. Those that arrive while others are being written
// are written together: one statement and one commit for the lot, the way PostgreSQL groups
// commits. An event never waits for a batch to fill; one that finds a writer idle goes alone.
//
// A call has at most one event in the batches being written, so batches never wait on each other's
// rows and a call's events apply in the order they came.

export interface Progress {
    event: CallEvent;
    callId: string | null;                       // null: no call of ours, recorded only
    now: Date;
}


const writers = 4;                               // batches written at once
const batchSize = 100;


// Each event is recorded (once: a repeat conflicts and changes nothing) and, when its call is
// live and of the same attempt, moves the call; answered puts the job in its call. `applied` is
// stored as the statement sees the call; the rare event whose call ended meanwhile is corrected.

const live = liveCallStatuses.map((status) => `'${status}'`).join(', ');

const batchSql = `
    WITH input AS (
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::integer[], $7::text[], $8::timestamptz[])
            WITH ORDINALITY AS i (call_id, provider_call_id, status, at, conversation, attempt, payload, now, n)
    ),
    ev AS (
        INSERT INTO call_events (call_id, provider_call_id, status, applied, payload)
        SELECT c.id, i.provider_call_id, i.status, COALESCE(c.status IN (${live}) AND (i.attempt IS NULL OR c.attempt = i.attempt), false), i.payload::jsonb
        FROM input i LEFT JOIN calls c ON c.id = i.call_id
        ORDER BY i.n
        ON CONFLICT DO NOTHING
        RETURNING id, provider_call_id, status, applied
    ),
    call AS (
        UPDATE calls c SET
            status = CASE WHEN i.status = 'answered' THEN 'in_progress' WHEN i.status IN ('started', 'ringing') AND c.status = 'dialing' THEN 'ringing' ELSE c.status END,
            outcome = CASE WHEN i.status = 'answered' THEN 'answered' ELSE c.outcome END,
            answered_at = CASE WHEN i.status = 'answered' THEN i.at ELSE c.answered_at END,
            machine = c.machine OR i.status = 'machine',
            provider_call_id = COALESCE(c.provider_call_id, i.provider_call_id),
            conversation_id = COALESCE(i.conversation, c.conversation_id),
            last_event_at = i.now, updated_at = i.now
        FROM input i JOIN ev ON ev.provider_call_id = i.provider_call_id AND ev.status = i.status
        WHERE c.id = i.call_id AND c.status IN (${live}) AND (i.attempt IS NULL OR c.attempt = i.attempt)
        RETURNING i.n, c.job_id, c.attempt, i.status, i.now, c.tenant_id, c.campaign_id, c.status AS call_status, c.outcome
    ),
    job AS (
        UPDATE dialer_jobs j SET status = 'in_call', updated_at = call.now
        FROM call WHERE call.status = 'answered' AND j.id = call.job_id AND j.attempt = call.attempt
    )
    SELECT i.n, ev.id AS event_id, ev.applied AS recorded_applied, call.n IS NOT NULL AS applied, call.tenant_id, call.campaign_id, call.call_status, call.outcome
    FROM input i LEFT JOIN ev ON ev.provider_call_id = i.provider_call_id AND ev.status = i.status LEFT JOIN call ON call.n = i.n
    ORDER BY i.n`;


interface Row {
    n: string;
    event_id: string | null;
    recorded_applied: boolean | null;
    applied: boolean;
    tenant_id: string | null;
    campaign_id: string | null;
    call_status: string | null;
    outcome: string | null;
}


// What an applied event made of its call, for whoever watches it live

export interface Moved {
    tenantId: string;
    campaignId: string;
    status: string;
    outcome: string | null;
}


interface Waiting extends Progress {
    resolve: (moved: Moved | null) => void;
    reject: (err: Error) => void;
}


const write = async (db: Db, batch: Progress[]) => {

    const column = <T>(pick: (item: Progress) => T) => batch.map(pick);
    const rows = await prepared<Row>(db, 'talky-call-progress', batchSql, [
        column((item) => item.callId),
        column((item) => item.event.providerCallId),
        column((item) => item.event.status),
        column((item) => item.event.timestamp.toISOString()),
        column((item) => item.event.conversationId ?? null),
        column((item) => item.event.attempt ?? null),
        column((item) => JSON.stringify(item.event.raw)),
        column((item) => item.now.toISOString())
    ]);

    const corrected = rows.filter((row) => row.recorded_applied && !row.applied).map((row) => row.event_id);
    if (corrected.length) {
        await prepared(db, 'talky-call-events-not-applied', 'UPDATE call_events SET applied = false WHERE id = ANY($1::bigint[])', [corrected]);
    }

    return rows.map((row): Moved | null => (row.applied ? { tenantId: row.tenant_id!, campaignId: row.campaign_id!, status: row.call_status!, outcome: row.outcome } : null));
};


export class ProgressWriter {

    #queue: Waiting[] = [];
    #writing = 0;
    #busy = new Set<string>();                   // calls (and provider calls) in a batch being written

    constructor(private readonly db: Db) { }

    apply(progress: Progress): Promise<Moved | null> {

        return new Promise((resolve, reject) => {

            this.#queue.push({ ...progress, resolve, reject });
            this.#pump();
        });
    }

    #pump() {

        while (this.#writing < writers && this.#queue.length) {
            const batch = this.#take();
            if (!batch.length) {
                return;                          // every waiting event's call is being written
            }

            ++this.#writing;
            write(this.db, batch).then(
                (moved) => batch.forEach((item, i) => item.resolve(moved[i]!)),
                (err: Error) => batch.forEach((item) => item.reject(err))
            ).finally(() => {

                --this.#writing;
                batch.forEach((item) => this.#release(item));
                this.#pump();
            });
        }
    }

    #take() {

        const batch: Waiting[] = [];
        const rest: Waiting[] = [];
        for (const item of this.#queue) {
            const keys = keysOf(item);
            if (batch.length === batchSize || keys.some((key) => this.#busy.has(key))) {
                rest.push(item);
                continue;
            }

            keys.forEach((key) => this.#busy.add(key));
            batch.push(item);
        }

        this.#queue = rest;
        return batch;
    }

    #release(item: Waiting) {

        keysOf(item).forEach((key) => this.#busy.delete(key));
    }
}


const keysOf = (item: Progress) => (item.callId ? [`call:${item.callId}`, `provider:${item.event.providerCallId}`] : [`provider:${item.event.providerCallId}`]);
