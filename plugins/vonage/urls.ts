import type { Server } from '@hapi/hapi';


// The addresses Vonage is given for a call: its webhooks, carrying Talky's call id and attempt so
// that every webhook names the attempt it is about, and the voice socket of the call with the
// token that lets the provider in (see plugins/voice/token.ts).

export interface CallRef {
    callId?: string;
    attempt?: number;
}


const withQuery = (base: string, path: string, query: Record<string, string | number | undefined>) => {

    const url = new URL(`${base}${path}`);
    for (const [key, value] of Object.entries(query)) {
        if (value !== undefined) {
            url.searchParams.set(key, String(value));
        }
    }

    return url.toString();
};


export const webhookUrls = (publicUrl: string) => {

    const base = publicUrl.replace(/\/+$/, '');

    return {
        answer: ({ callId, attempt }: CallRef) => withQuery(base, '/api/v1/webhooks/vonage/answer', { call_id: callId, attempt }),
        event: ({ callId, attempt }: CallRef) => withQuery(base, '/api/v1/webhooks/vonage/event', { call_id: callId, attempt }),
        recording: ({ callId }: CallRef) => withQuery(base, '/api/v1/webhooks/vonage/recording', { call_id: callId }),
        voiceSocket: (uuid: string, token: string) => withQuery(base.replace(/^http/, 'ws'), `/api/v1/ws/voice/${encodeURIComponent(uuid)}`, { token })
    };
};


// PUBLIC_URL on port 0 (the tests' listeners) means wherever the listener ended up

export const publicUrlOf = (server: Server) => {

    const { publicUrl } = server.plugins.core.config;
    return new URL(publicUrl).port === '0' && server.info.port ? server.info.uri : publicUrl;
};
