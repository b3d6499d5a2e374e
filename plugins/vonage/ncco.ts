import type { AnswerPlan } from '../dialer/lifecycle';
import type { webhookUrls } from './urls';


// The NCCO answering a call: optionally record it (each side on its own channel), then connect
// it to Talky's voice socket. The key is literally 'content-type': the SDK's contentType is
// ignored by the API.

export interface AnsweredCall {
    uuid: string;
    attempt?: number;
    from?: string;
    socketToken: string;
}


export const connectNcco = (urls: ReturnType<typeof webhookUrls>, plan: AnswerPlan, call: AnsweredCall) => {

    const record = {
        action: 'record',
        split: 'conversation',
        channels: 2,
        format: 'wav',
        eventUrl: [urls.recording({ callId: plan.callId })],
        eventMethod: 'POST'
    };

    const connect = {
        action: 'connect',
        eventUrl: [urls.event({ callId: plan.callId, attempt: call.attempt })],
        ...(call.from ? { from: call.from.replace(/^\+/, '') } : {}),                  // Vonage writes numbers without the +
        endpoint: [{
            type: 'websocket',
            uri: urls.voiceSocket(call.uuid, call.socketToken),
            'content-type': 'audio/l16;rate=16000',
            headers: { call_uuid: call.uuid, call_id: plan.callId }
        }]
    };

    return plan.record ? [record, connect] : [connect];
};


// A call that is not ours (or no longer current) hears why, and ends when its NCCO runs out

export const refusalNcco = () => [{ action: 'talk', text: 'This call cannot be connected. Goodbye.' }];
