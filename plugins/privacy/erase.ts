import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import { phoneHash } from '../contacts/dnc';
import { erasedNumber, liveCallStatuses, logDecision, openJobStatuses } from '../dialer/outcomes';
import type { Storage } from '../storage/backend';
import { holdingsOf, recordRequest, type Subject } from './subject';


// Erasure keeps the rows that others point at and counts are made of, emptied of the person:
// calls keep their outcome, duration and minutes (analytics and billing stay right) and their
// lead_id, with the number replaced by a marker (the dialer's erasedNumber: it owes nothing to
// the number, as a hash of a phone number is undone by trying them all); leads are removed as a contact removal does
// (status deleted) and their personal fields cleared; provider events lose their payloads;
// transcripts and recordings (rows and audio) go. A number on the do-not-call list stays blocked
// by its hash alone, without its reason (free text, perhaps the person's own words). Deleting
// leads and calls instead would cascade into dialer_jobs and silently change every campaign's
// and period's call counts.

// One transaction. The person's open jobs are cancelled first and what is held is read again
// after: a dial claiming one of them at that moment either committed first (its call is read,
// live, and the erasure refused) or finds its job cancelled. The audio goes before its rows: a
// failure leaves the rows, and asking again finishes the work. Only the rows whose audio went
// are deleted: a recording that arrives meanwhile keeps its row for the next request.

export const eraseSubject = async (db: Db, storage: Storage, tenantId: string, subject: Subject, requestedBy: string | null) => {

    return await db.transaction(async (trx) => {

        const { leadIds } = await holdingsOf(trx, tenantId, subject);
        await trx('dialer_jobs').whereIn('lead_id', leadIds).whereIn('status', openJobStatuses)
            .update({ status: 'cancelled', next_attempt_at: null, last_decision: 'cancelled', decisions: logDecision(trx, new Date(), 'cancelled', 'erased'), updated_at: trx.fn.now() });

        const held = await holdingsOf(trx, tenantId, subject);
        const live = await trx('calls').whereIn('id', held.callIds).whereIn('status', liveCallStatuses).first('id');
        if (live) {
            throw Boom.conflict('A call with this person is in progress: ask again once it has ended');
        }

        const recordings: Array<{ id: string; storage_key: string }> = await trx('recordings').whereIn('call_id', held.callIds).select('id', 'storage_key');
        for (const { storage_key: key } of recordings) {
            await storage.remove(key);
        }

        const removedRecordings = await trx('recordings').whereIn('id', recordings.map((recording) => recording.id)).delete();
        const turns = await trx('call_turns').whereIn('call_id', held.callIds).delete();
        const events = await trx('call_events')
            .where((builder) => void builder
                .whereIn('call_id', held.callIds)
                .orWhereIn('provider_call_id', trx('calls').whereIn('id', held.callIds).whereNotNull('provider_call_id').select('provider_call_id')))
            .update({ payload: '{}' });

        const calls = await trx('calls').whereIn('id', held.callIds).update({ to_number: erasedNumber, updated_at: trx.fn.now() });
        const leads = await trx('leads').whereIn('id', held.leadIds).update({
            phone_number: erasedNumber,
            first_name: null,
            last_name: null,
            email: null,
            country: null,
            timezones: [],
            custom_fields: '{}',
            tags: [],
            consent_at: null,
            consent_source: null,
            status: 'deleted',
            updated_at: trx.fn.now()
        });

        // By hash: an entry already erased is found too, and its reason (set again by a later opt-out) cleared

        const dnc = await trx('dnc_numbers')
            .where({ tenant_id: tenantId })
            .whereIn('phone_hash', held.numbers.map(phoneHash))
            .where((builder) => void builder.whereNotNull('phone_number').orWhereNotNull('reason'))
            .update({ phone_number: null, reason: null });

        const counts = { leads, calls, events, turns, recordings: removedRecordings, dnc };
        await recordRequest(trx, tenantId, 'erase', subject, requestedBy, counts);
        return { erased: counts };
    });
};
