import type { Db } from '../../core/db';
import type { Storage } from '../storage/backend';


// How long a tenant keeps call recordings and transcripts (null: for ever), and the sweep that
// deletes what is older. The sweep takes its time as an argument so a test can move it.

export interface Retention {
    recording_retention_days: number | null;
    transcript_retention_days: number | null;
}


const columns = ['recording_retention_days', 'transcript_retention_days'];


export const getRetention = async (db: Db, tenantId: string): Promise<Retention> => await db('tenants').where({ id: tenantId }).first(columns);


export const setRetention = async (db: Db, tenantId: string, changes: Partial<Retention>): Promise<Retention> => {

    const [row] = await db('tenants').where({ id: tenantId }).update({ ...changes, updated_at: db.fn.now() }).returning(columns);
    return row;
};


const batch = 500;

const cutoff = (db: Db, column: string, now: Date) => db.raw(`?::timestamptz - make_interval(days => t.${column})`, [now]);


// Recordings a batch at a time: the audio first, then the rows, so a failure leaves rows to retry

const sweepRecordings = async (db: Db, storage: Storage, now: Date) => {

    let removed = 0;
    for (;;) {
        const expired: Array<{ id: string; storage_key: string }> = await db('recordings as r')
            .join('tenants as t', 't.id', 'r.tenant_id')
            .whereNotNull('t.recording_retention_days')
            .where('r.created_at', '<', cutoff(db, 'recording_retention_days', now))
            .orderBy('r.created_at')
            .limit(batch)
            .select('r.id', 'r.storage_key');

        for (const { storage_key: key } of expired) {
            await storage.remove(key);
        }

        removed += await db('recordings').whereIn('id', expired.map((recording) => recording.id)).delete();
        if (expired.length < batch) {
            return removed;
        }
    }
};


const sweepTranscripts = async (db: Db, now: Date) => {

    const { rowCount } = await db.raw(`
        DELETE FROM call_turns c USING tenants t
        WHERE t.id = c.tenant_id AND t.transcript_retention_days IS NOT NULL
          AND c.created_at < ?::timestamptz - make_interval(days => t.transcript_retention_days)`, [now]);

    return rowCount as number;
};


export const sweep = async (db: Db, storage: Storage, now: Date) => ({
    recordings: await sweepRecordings(db, storage, now),
    turns: await sweepTranscripts(db, now)
});
