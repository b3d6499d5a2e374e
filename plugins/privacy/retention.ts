import type { Knex } from 'knex';

import type { Db } from '../../core/db';
import { erasedNumber } from '../dialer/outcomes';
import type { Storage } from '../storage/backend';


// The sweep of what is older than the tenant keeps it (its settings recording_retention_days and
// transcript_retention_days; null: for ever), and of what reached an erased call after its
// erasure. The sweep takes its time as an argument so a test can move it.


const batch = 500;

const cutoff = (db: Db, column: string, now: Date) => db.raw(`?::timestamptz - make_interval(days => t.${column})`, [now]);


// Recordings a batch at a time: the audio first, then the rows, so a failure leaves rows to retry

const removeRecordings = async (db: Db, storage: Storage, size: number, which: (builder: Knex.QueryBuilder) => Knex.QueryBuilder) => {

    let removed = 0;
    for (;;) {
        const found: Array<{ id: string; storage_key: string }> = await which(db('recordings as r')).orderBy('r.created_at').limit(size).select('r.id', 'r.storage_key');
        for (const { storage_key: key } of found) {
            await storage.remove(key);
        }

        removed += await db('recordings').whereIn('id', found.map((recording) => recording.id)).delete();
        if (found.length < size) {
            return removed;
        }
    }
};


const sweepRecordings = (db: Db, storage: Storage, now: Date, size: number) => removeRecordings(db, storage, size, (builder) => builder
    .join('tenants as t', 't.id', 'r.tenant_id')
    .whereNotNull('t.recording_retention_days')
    .where('r.created_at', '<', cutoff(db, 'recording_retention_days', now)));


// Transcripts a batch at a time too: a first sweep after a limit is set may find millions of
// turns, and one statement would hold them all locked and in one transaction

const sweepTranscripts = async (db: Db, now: Date, size: number) => {

    let removed = 0;
    for (;;) {
        const { rowCount } = await db.raw(`
            DELETE FROM call_turns WHERE id IN (
                SELECT c.id FROM call_turns c JOIN tenants t ON t.id = c.tenant_id
                WHERE t.transcript_retention_days IS NOT NULL
                  AND c.created_at < ?::timestamptz - make_interval(days => t.transcript_retention_days)
                LIMIT ?
            )`, [now, size]);

        removed += rowCount as number;
        if (rowCount < size) {
            return removed;
        }
    }
};


// A provider sends the recording and the last events as a call ends, and the voice agent writes
// the last turn: some may reach a call just after its erasure. What reaches a call erased in the
// last two days goes as the erasure would have taken it.

const lateWithinMs = 2 * 24 * 60 * 60 * 1000;


const sweepErased = async (db: Db, storage: Storage, now: Date, size: number) => {

    const erased = () => db('calls').where({ to_number: erasedNumber }).where('updated_at', '>', new Date(now.getTime() - lateWithinMs)).select('id');

    const recordings = await removeRecordings(db, storage, size, (builder) => builder.whereIn('r.call_id', erased()));
    const turns = await db('call_turns').whereIn('call_id', erased()).delete();
    const events = await db('call_events')
        .where((builder) => void builder
            .whereIn('call_id', erased())
            .orWhereIn('provider_call_id', erased().clearSelect().whereNotNull('provider_call_id').select('provider_call_id')))
        .whereNot('payload', '{}')
        .update({ payload: '{}' });

    return { recordings, turns, events };
};


// Transcripts first: they need only Postgres, so storage being away does not keep them past their time

export const sweep = async (db: Db, storage: Storage, now: Date, size = batch) => {

    const turns = await sweepTranscripts(db, now, size);
    const recordings = await sweepRecordings(db, storage, now, size);
    return { recordings, turns, erased: await sweepErased(db, storage, now, size) };
};
