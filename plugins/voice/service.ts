import type { Db } from '../../core/db';
import { liveCallStatuses } from '../dialer/outcomes';
import type { Turn } from './agent';


// The voice agent's reads and writes: the call a socket serves, with what its campaign says
// the agent is; the turns of the conversation; what the agent's tools change on the call.

export interface SocketCall {
    id: string;
    tenant_id: string;
    campaign_id: string;
    provider_call_id: string;
    to_number: string;
    campaign_name: string;
    system_prompt: string | null;
    goal: string | null;
    voice_id: string | null;
    script_config: Record<string, unknown>;
    calling_config: Record<string, unknown>;
    first_name: string | null;
    last_name: string | null;
    tenant_name: string;
}


export const socketCall = async (db: Db, providerCallId: string): Promise<SocketCall | undefined> => {

    return await db('calls as c')
        .join('campaigns as m', 'm.id', 'c.campaign_id')
        .join('leads as l', 'l.id', 'c.lead_id')
        .join('tenants as t', 't.id', 'c.tenant_id')
        .where('c.provider_call_id', providerCallId)
        .whereIn('c.status', liveCallStatuses)
        .first('c.id', 'c.tenant_id', 'c.campaign_id', 'c.provider_call_id', 'c.to_number', 'm.name as campaign_name', 'm.system_prompt', 'm.goal', 'm.voice_id', 'm.script_config', 'm.calling_config', 'l.first_name', 'l.last_name', 't.business_name as tenant_name');
};


export const saveTurn = async (db: Db, call: { id: string; tenant_id: string }, seq: number, turn: Turn) => {

    await db('call_turns').insert({
        call_id: call.id,
        tenant_id: call.tenant_id,
        seq,
        speaker: turn.speaker,
        text: turn.text,
        started_ms: turn.startMs,
        ended_ms: turn.endMs,
        interrupted: turn.interrupted,
        response_ms: turn.latency?.responseMs ?? null,
        endpointing_ms: turn.latency?.endpointingMs ?? null,
        stt_ms: turn.latency?.sttMs ?? null,
        llm_ms: turn.latency?.llmMs ?? null,
        tts_ms: turn.latency?.ttsMs ?? null,
        overhead_ms: turn.latency?.overheadMs ?? null
    });
};


export const turnsOf = async (db: Db, tenantId: string, callId: string) => {

    return await db('call_turns').where({ tenant_id: tenantId, call_id: callId }).orderBy('seq').select('seq', 'speaker', 'text', 'started_ms', 'ended_ms', 'interrupted', 'response_ms', 'endpointing_ms', 'stt_ms', 'llm_ms', 'tts_ms', 'overhead_ms');
};
