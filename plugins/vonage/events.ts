import { callStatuses, type CallEvent, type CallStatus, type RecordingEvent } from '../dialer/telephony';


// Vonage's webhook bodies, read leniently: numbers may arrive as strings, timestamps are ISO 8601,
// and machine/human name the call in call_uuid rather than uuid.

type Body = Record<string, unknown>;


const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined);


const number = (value: unknown) => {

    const parsed = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    return Number.isFinite(parsed) ? parsed : undefined;
};


const date = (value: unknown) => {

    const parsed = typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
    return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
};


const known = new Set<string>(callStatuses);

export const isCallStatus = (status: unknown): status is CallStatus => typeof status === 'string' && known.has(status);


// The fields both events and call records share; undefined ones are left out

const compact = <T extends object>(value: T) => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;


// One event webhook; null when its status is not one Talky follows (input, transfer, record...)

export const parseEvent = (body: Body, ref: { callId?: string; attempt?: number } = {}): CallEvent | null => {

    const providerCallId = text(body.uuid) ?? text(body.call_uuid);
    if (!isCallStatus(body.status) || !providerCallId) {
        return null;
    }

    return compact({
        callId: ref.callId,
        attempt: ref.attempt,
        providerCallId,
        conversationId: text(body.conversation_uuid),
        status: body.status,
        detail: text(body.detail) ?? text(body.sub_state) ?? text(body.reason),
        timestamp: date(body.timestamp) ?? new Date(),
        startedAt: date(body.start_time),
        endedAt: date(body.end_time),
        durationSeconds: number(body.duration),
        price: number(body.price),
        raw: body
    });
};


// GET /v1/calls/{uuid}, as the SDK hands it back (camelCased) or as the wire has it

export const parseCallRecord = (record: Body): CallEvent | null => {

    const providerCallId = text(record.uuid);
    if (!isCallStatus(record.status) || !providerCallId) {
        return null;
    }

    const endedAt = date(record.endTime ?? record.end_time);
    return compact({
        providerCallId,
        conversationId: text(record.conversationUUID ?? record.conversation_uuid),
        status: record.status,
        timestamp: endedAt ?? new Date(),
        startedAt: date(record.startTime ?? record.start_time),
        endedAt,
        durationSeconds: number(record.duration),
        price: number(record.price),
        raw: record
    });
};


export const parseRecording = (body: Body, ref: { callId?: string } = {}): RecordingEvent => compact({
    callId: ref.callId,
    providerCallId: text(body.uuid),
    conversationId: text(body.conversation_uuid),
    recordingId: text(body.recording_uuid)!,
    url: text(body.recording_url)!,
    startedAt: date(body.start_time),
    endedAt: date(body.end_time),
    size: number(body.size),
    raw: body
});
