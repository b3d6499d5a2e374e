import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import { liveCallStatuses } from '../dialer/outcomes';
import type { Storage } from '../storage/backend';
import { holdingsOf, recordRequest, type Subject } from './subject';


// Erasure keeps the rows that others point at and counts are made of, emptied of the person:
// calls keep their outcome, duration and minutes (analytics and billing stay right) and their
// lead_id, with the number replaced by a marker; leads are removed as a contact removal does
// (status deleted) and their personal fields cleared; provider events lose their payloads;
// transcripts and recordings (rows and audio) go. A number on the do-not-call list stays blocked
// by its hash alone. Deleting leads and calls instead would cascade into dialer_jobs and
// silently change every campaign's and period's call counts.

// 'erased:' and the first 12 hex of the number's sha256, the same in SQL as in JS

const marker = (column: string) => `'erased:' || left(encode(sha256(convert_to(${column}, 'UTF8')), 'hex'), 12)`;


export const erasedMarker = (hash: string) => `erased:${hash.slice(0, 12)}`;


// Audio goes first: a failure there leaves the rows, and asking again finishes the work

export const eraseSubject = async (db: Db, storage: Storage, tenantId: string, subject: Subject, requestedBy: string | null) => {

    const held = await holdingsOf(db, tenantId, subject);
    const live = await db('calls').whereIn('id', held.callIds).whereIn('status', liveCallStatuses).first('id');
    if (live) {
        throw Boom.conflict('A call with this person is in progress: ask again once it has ended');
    }

    const recordings: Array<{ storage_key: string }> = await db('recordings').whereIn('call_id', held.callIds).select('storage_key');
    for (const { storage_key: key } of recordings) {
        await storage.remove(key);
    }

    return await db.transaction(async (trx) => {

        const removedRecordings = await trx('recordings').whereIn('call_id', held.callIds).delete();
        const turns = await trx('call_turns').whereIn('call_id', held.callIds).delete();
        const events = await trx('call_events')
            .where((builder) => void builder
                .whereIn('call_id', held.callIds)
                .orWhereIn('provider_call_id', trx('calls').whereIn('id', held.callIds).whereNotNull('provider_call_id').select('provider_call_id')))
            .update({ payload: '{}' });

        const calls = await trx('calls').whereIn('id', held.callIds).update({ to_number: trx.raw(marker('to_number')), updated_at: trx.fn.now() });

        // A job still waiting would dial the marker

        await trx('dialer_jobs').whereIn('lead_id', held.leadIds).whereIn('status', ['pending', 'retry_scheduled'])
            .update({ status: 'cancelled', next_attempt_at: null, last_decision: 'erased', updated_at: trx.fn.now() });

        const leads = await trx('leads').whereIn('id', held.leadIds).update({
            phone_number: trx.raw(marker('phone_number')),
            first_name: null,
            last_name: null,
            email: null,
            country: null,
            timezones: [],
            custom_fields: '{}',
            tags: [],
            status: 'deleted',
            updated_at: trx.fn.now()
        });

        const dnc = await trx('dnc_numbers').where({ tenant_id: tenantId }).whereIn('phone_number', held.numbers).update({ phone_number: null });

        const counts = { leads, calls, events, turns, recordings: removedRecordings, dnc };
        await recordRequest(trx, tenantId, 'erase', subject, requestedBy, counts);
        return { erased: counts };
    });
};
