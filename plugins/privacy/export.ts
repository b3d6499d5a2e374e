import type { Db } from '../../core/db';
import { phoneHash } from '../contacts/dnc';
import { holdingsOf, recordRequest, type Subject } from './subject';


// Everything the tenant holds about one person, as JSON: leads with their campaigns' names,
// calls with their provider events, transcripts turn by turn, recordings' metadata (not the
// audio, which the recordings API serves) and do-not-call entries, found by the number's hash so
// that an entry kept as a hash alone is shown too. Asking is itself recorded.

const byTime = [{ column: 'created_at', order: 'asc' as const }, { column: 'id', order: 'asc' as const }];


const leadsOf = async (db: Db, leadIds: string[]) => {

    const rows = await db('leads as l')
        .join('campaigns as c', 'c.id', 'l.campaign_id')
        .whereIn('l.id', leadIds)
        .orderBy([{ column: 'l.created_at', order: 'asc' }, { column: 'l.id', order: 'asc' }])
        .select('l.*', 'c.name as campaign_name');

    return rows.map(({ tenant_id: _tenant, ...lead }) => lead);
};


const callsOf = async (db: Db, callIds: string[]) => {

    const [calls, events] = await Promise.all([
        db('calls as k')
            .join('campaigns as c', 'c.id', 'k.campaign_id')
            .whereIn('k.id', callIds)
            .orderBy([{ column: 'k.created_at', order: 'asc' }, { column: 'k.id', order: 'asc' }])
            .select(
                'k.id', 'k.campaign_id', 'c.name as campaign_name', 'k.lead_id', 'k.to_number as phone_number', 'k.from_number', 'k.status', 'k.outcome',
                'k.goal_achieved', 'k.machine', 'k.attempt', 'k.duration_seconds', 'k.answered_at', 'k.ended_at', 'k.callback_at', 'k.created_at'
            ),
        db('call_events').whereIn('call_id', callIds).orderBy('id').select('call_id', 'status', 'payload', 'received_at')
    ]);

    return calls.map((call) => ({
        ...call,
        events: events.filter((event) => event.call_id === call.id).map(({ call_id: _call, ...event }) => event)
    }));
};


// The number an entry is about is the one its hash was looked up by; kept_as says whether the
// list still holds the number or its hash alone

const dncOf = async (db: Db, tenantId: string, numbers: string[]) => {

    const byHash = new Map(numbers.map((number) => [phoneHash(number), number]));
    const rows: Array<{ phone_hash: string; phone_number: string | null; reason: string | null; call_id: string | null; created_at: Date }> = await db('dnc_numbers')
        .where({ tenant_id: tenantId })
        .whereIn('phone_hash', [...byHash.keys()])
        .orderBy([{ column: 'created_at', order: 'asc' }, { column: 'phone_hash', order: 'asc' }])
        .select('phone_hash', 'phone_number', 'reason', 'call_id', 'created_at');

    return rows.map((row) => ({
        phone_number: byHash.get(row.phone_hash)!,
        kept_as: row.phone_number === null ? 'hash' : 'number',
        reason: row.reason,
        call_id: row.call_id,
        created_at: row.created_at
    }));
};


const transcriptsOf = async (db: Db, callIds: string[]) => {

    const turns = await db('call_turns').whereIn('call_id', callIds).orderBy([{ column: 'call_id' }, { column: 'seq' }])
        .select('call_id', 'seq', 'speaker', 'text', 'started_ms', 'ended_ms', 'interrupted', 'created_at');

    const byCall = new Map<string, unknown[]>();
    for (const { call_id: callId, ...turn } of turns) {
        byCall.set(callId, [...(byCall.get(callId) ?? []), turn]);
    }

    return [...byCall].map(([callId, callTurns]) => ({ call_id: callId, turns: callTurns }));
};


export const exportSubject = async (db: Db, tenantId: string, subject: Subject, requestedBy: string | null) => {

    const held = await holdingsOf(db, tenantId, subject);
    const [leads, calls, transcripts, recordings, dnc] = await Promise.all([
        leadsOf(db, held.leadIds),
        callsOf(db, held.callIds),
        transcriptsOf(db, held.callIds),
        db('recordings').whereIn('call_id', held.callIds).orderBy(byTime).select('id', 'call_id', 'storage_key', 'size_bytes', 'started_at', 'ended_at', 'created_at'),
        dncOf(db, tenantId, held.numbers)
    ]);

    const counts = {
        leads: leads.length,
        calls: calls.length,
        events: calls.reduce((sum, call) => sum + call.events.length, 0),
        turns: transcripts.reduce((sum, transcript) => sum + transcript.turns.length, 0),
        recordings: recordings.length,
        dnc: dnc.length
    };

    await recordRequest(db, tenantId, 'export', subject, requestedBy, counts);
    return {
        subject: { phone_number: subject.phone ?? null, email: subject.email ?? null },
        leads,
        calls,
        transcripts,
        recordings: recordings.map((recording) => ({ ...recording, size_bytes: Number(recording.size_bytes) })),
        dnc_numbers: dnc,
        counts
    };
};
