import Boom from '@hapi/boom';
import type { Knex } from 'knex';

import type { Db } from '../../core/db';
import { scoped } from '../../core/tenancy';
import { normalizePhone, type CountryCode } from '../contacts/phone';
import * as Voice from '../voice/service';
import { contentTypeOf, type RecordingFile } from './download';


// The tenant's calls and recordings, read: lists a page at a time, newest first, and each call
// with what was kept of it (its provider events, recordings and turns)

interface Period {
    from?: Date;
    to?: Date;
}

interface Paging {
    page: number;
    page_size: number;
}


const inPeriod = (builder: Knex.QueryBuilder, column: string, { from, to }: Period) => {

    if (from) {
        builder.where(column, '>=', from);
    }

    if (to) {
        builder.where(column, '<', to);
    }
};


// The count needs only the filtered rows; what the items show may need joins

const pageOf = async (filtered: Knex.QueryBuilder, paging: Paging, alias: string, select: (builder: Knex.QueryBuilder) => Knex.QueryBuilder) => {

    const [items, [{ total }]] = await Promise.all([
        select(filtered.clone())
            .orderBy([{ column: `${alias}.created_at`, order: 'desc' }, { column: `${alias}.id`, order: 'desc' }])
            .limit(paging.page_size)
            .offset((paging.page - 1) * paging.page_size),
        filtered.clone().count('* as total') as unknown as Promise<[{ total: number }]>
    ]);

    return { items, page: paging.page, page_size: paging.page_size, total };
};


interface RecordingRow extends RecordingFile {
    campaign_id: string;
    size_bytes: number;
    started_at: Date | null;
    ended_at: Date | null;
    created_at: Date;
}


const recordingColumns = ['r.id', 'r.call_id', 'c.campaign_id', 'r.storage_key', 'r.size_bytes', 'r.started_at', 'r.ended_at', 'r.created_at'];


const recordings = (db: Db, tenantId: string) => scoped(db, tenantId)('recordings as r').join('calls as c', 'c.id', 'r.call_id');


const recordingOf = ({ storage_key: storageKey, ...row }: RecordingRow) => ({
    ...row,
    duration_seconds: row.started_at && row.ended_at ? Math.round((row.ended_at.getTime() - row.started_at.getTime()) / 1000) : null,
    content_type: contentTypeOf(storageKey),
    download_url: `/api/v1/recordings/${row.id}/download`
});


export interface RecordingsQuery extends Paging, Period {
    call_id?: string;
    campaign_id?: string;
}


export const listRecordings = async (db: Db, tenantId: string, query: RecordingsQuery) => {

    const filtered = recordings(db, tenantId).modify((builder) => {

        if (query.call_id) {
            builder.where('r.call_id', query.call_id);
        }

        if (query.campaign_id) {
            builder.where('c.campaign_id', query.campaign_id);
        }

        inPeriod(builder, 'r.created_at', query);
    });

    const found = await pageOf(filtered, query, 'r', (builder) => builder.select(recordingColumns));
    return { ...found, items: found.items.map(recordingOf) };
};


// The row with its storage key, for the download

export const recordingFile = async (db: Db, tenantId: string, id: string): Promise<RecordingRow> => {

    const row = await recordings(db, tenantId).where('r.id', id).first(recordingColumns);
    if (!row) {
        throw Boom.notFound('Recording not found');
    }

    return row;
};


export const getRecording = async (db: Db, tenantId: string, id: string) => recordingOf(await recordingFile(db, tenantId, id));


const callColumns = (db: Db) => [
    'c.id', 'c.campaign_id', 'm.name as campaign_name', 'c.lead_id', 'c.to_number as phone_number', 'c.status', 'c.outcome',
    'c.goal_achieved', 'c.machine', 'c.attempt', 'c.duration_seconds', 'c.billed_minutes', 'c.answered_at', 'c.ended_at', 'c.created_at',
    db.raw('EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id) AS has_recording')
];


const calls = (db: Db, tenantId: string) => scoped(db, tenantId)('calls as c');


// Numbers are kept in E.164, so the one asked for is read as a contact's would be

const e164 = (raw: string, region: CountryCode) => {

    const phone = normalizePhone(raw, region);
    if ('error' in phone) {
        throw Boom.badRequest(`"phone" must be a phone number (${phone.error})`);
    }

    return phone.e164;
};


export interface CallsQuery extends Paging, Period {
    campaign_id?: string;
    outcome?: string;
    status?: string;
    phone?: string;
}


export const listCalls = async (db: Db, tenantId: string, query: CallsQuery, region: CountryCode) => {

    const phone = query.phone === undefined ? undefined : e164(query.phone, region);
    const filtered = calls(db, tenantId).modify((builder) => {

        for (const column of ['campaign_id', 'outcome', 'status'] as const) {
            if (query[column]) {
                builder.where(`c.${column}`, query[column]);
            }
        }

        if (phone) {
            builder.where('c.to_number', phone);
        }

        inPeriod(builder, 'c.created_at', query);
    });

    return await pageOf(filtered, query, 'c', (builder) => builder.join('campaigns as m', 'm.id', 'c.campaign_id').select(callColumns(db)));
};


// Means and maxima over the agent's replies that were measured (a greeting answers nobody)

const round = (ms: number | null) => (ms === null ? null : Math.round(ms * 10) / 10);


const latencyOf = async (db: Db, tenantId: string, callId: string) => {

    const summary = await db('call_turns').where({ tenant_id: tenantId, call_id: callId }).first(
        db.raw('count(*)::integer AS turns'),
        db.raw(`avg(response_ms) FILTER (WHERE speaker = 'agent') AS mean_response_ms`),
        db.raw(`max(response_ms) FILTER (WHERE speaker = 'agent') AS max_response_ms`)
    );

    return { turns: summary.turns, mean_response_ms: round(summary.mean_response_ms), max_response_ms: round(summary.max_response_ms) };
};


export const getCall = async (db: Db, tenantId: string, id: string) => {

    const found = await calls(db, tenantId)
        .join('campaigns as m', 'm.id', 'c.campaign_id')
        .join('leads as l', 'l.id', 'c.lead_id')
        .where('c.id', id)
        .first([...callColumns(db), 'l.first_name', 'l.last_name', 'l.phone_number as lead_phone_number']);

    if (!found) {
        throw Boom.notFound('Call not found');
    }

    const { first_name: firstName, last_name: lastName, lead_phone_number: leadPhone, ...call } = found;
    const [kept, events, latency] = await Promise.all([
        recordings(db, tenantId).where('r.call_id', id).orderBy([{ column: 'r.created_at' }, { column: 'r.id' }]).select(recordingColumns),
        db('call_events').where({ call_id: id }).orderBy([{ column: 'received_at' }, { column: 'id' }]).select('status', 'received_at'),
        latencyOf(db, tenantId, id)
    ]);

    return {
        ...call,
        lead: { id: call.lead_id, first_name: firstName, last_name: lastName, phone_number: leadPhone },
        campaign: { id: call.campaign_id, name: call.campaign_name },
        recordings: kept.map(recordingOf),
        events,
        latency
    };
};


// An agent's reply carries its latency and parts; the caller's turns carry none

export const transcript = async (db: Db, tenantId: string, callId: string) => {

    if (!await calls(db, tenantId).where('c.id', callId).first('c.id')) {
        throw Boom.notFound('Call not found');
    }

    const turns = await Voice.turnsOf(db, tenantId, callId);
    return {
        call_id: callId,
        turns: turns.map(({ response_ms, endpointing_ms, stt_ms, llm_ms, tts_ms, overhead_ms, ...turn }) => ({
            ...turn,
            latency: response_ms === null ? null : { response_ms, endpointing_ms, stt_ms, llm_ms, tts_ms, overhead_ms }
        }))
    };
};
