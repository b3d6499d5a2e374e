import Boom from '@hapi/boom';
import type { Lifecycle, Request, RouteOptionsPayload, Server, ServerRoute } from '@hapi/hapi';

import { noContent } from '../../core/schemas';
import { voiceToken } from '../voice/token';
import type { CallLifecycle } from '../dialer/lifecycle';
import { parseEvent, parseRecording } from './events';
import { connectNcco, refusalNcco } from './ncco';
import * as Schemas from './schemas';
import { queryBody, signatureProblem } from './signature';
import { publicUrlOf, webhookUrls } from './urls';


type Ref = { call_id?: string; attempt?: number };
type Answer = { uuid: string; from?: string; conversation_uuid?: string };


// An event's own time (ms since the epoch), left on its request for whoever measures webhook lag
// (the metrics plugin): this plugin needs to know nothing of them

declare module '@hapi/hapi' {
    interface PluginsStates {
        vonage?: { eventSentAt: number };
    }
}


// The body is read raw (only a content encoding undone), so that its signature can be checked
// over the exact bytes sent; the JSON is parsed once it holds

const raw: RouteOptionsPayload = { parse: 'gunzip', output: 'data', maxBytes: 64 * 1024 };


// Runs after the body is read and before validation: a request without Vonage's signature is
// refused before anything looks at it. Without a secret (development) nothing is checked.

const signed = (secret: string | undefined): Lifecycle.Method => {

    return (request, h) => {

        const body = request.method === 'get' ? queryBody(request.url.searchParams) : Buffer.isBuffer(request.payload) ? request.payload : Buffer.alloc(0);
        const problem = secret ? signatureProblem(secret, request.headers.authorization as string | undefined, body) : null;
        if (problem) {
            throw Boom.unauthorized(problem);
        }

        if (request.method !== 'get') {
            try {
                (request as { payload: unknown }).payload = JSON.parse(body.toString('utf8'));      // what validation then sees
            }
            catch {
                throw Boom.badRequest('The request body is not valid JSON');
            }
        }

        return h.continue;
    };
};


// The dialer may be disabled in this process: looked up per request, not at registration

const dialerOf = (server: Server): CallLifecycle => {

    const dialer = server.plugins.dialer as CallLifecycle | undefined;
    if (!dialer?.answer) {
        throw Boom.serverUnavailable('The dialer is not running in this process');
    }

    return dialer;
};


export const routes = (server: Server): ServerRoute[] => {

    const { config, clock } = server.plugins.core;
    const ext = { onPostAuth: { method: signed(config.vonageSignatureSecret) } };
    const tags = ['api', 'webhooks'];

    const answer = async (request: Request) => {

        const answeredAt = clock.now().getTime();               // the agent's first words are timed from here
        const ref = request.query as Ref;
        const call = (request.method === 'get' ? request.query : request.payload) as Answer;
        const plan = await dialerOf(server).answer({ callId: ref.call_id, attempt: ref.attempt, providerCallId: call.uuid, conversationId: call.conversation_uuid });
        if (!plan) {
            return refusalNcco();
        }

        return connectNcco(webhookUrls(publicUrlOf(server)), plan, { uuid: call.uuid, attempt: ref.attempt, from: call.from || config.vonageFromNumber, socketToken: voiceToken(config.jwtSecret!, call.uuid, answeredAt) });
    };

    const answerOptions = {
        description: 'Vonage answer webhook: the NCCO connecting a call to its voice socket',
        notes: 'Signed by Vonage when VONAGE_SIGNATURE_SECRET is set. A call Talky does not know hears a short goodbye.',
        tags,
        auth: false as const,
        ext,
        response: { status: { 200: Schemas.ncco } },
        handler: answer
    };

    // Event and recording webhooks: JSON posted by Vonage, signed, acknowledged with no content

    const notice = { tags, auth: false as const, ext, payload: raw, response: { status: { 204: noContent } } };

    return [
        {
            method: 'GET',
            path: '/webhooks/vonage/answer',
            options: { ...answerOptions, validate: { query: Schemas.answerQuery } }
        },
        {
            method: 'POST',
            path: '/webhooks/vonage/answer',
            options: { ...answerOptions, payload: raw, validate: { query: Schemas.callRefQuery, payload: Schemas.answerBody } }
        },
        {
            method: 'POST',
            path: '/webhooks/vonage/event',
            options: {
                description: 'Vonage event webhook: a call\'s status changed',
                notes: 'Statuses Talky does not follow (input, transfer, record...) are acknowledged and ignored.',
                ...notice,
                validate: { query: Schemas.callRefQuery, payload: Schemas.eventBody },
                handler: async (request, h) => {

                    const ref = request.query as Ref;
                    const body = request.payload as Record<string, unknown>;
                    const sentAt = typeof body.timestamp === 'string' ? Date.parse(body.timestamp) : NaN;
                    if (Number.isFinite(sentAt)) {
                        request.plugins.vonage = { eventSentAt: sentAt };          // webhook lag, whatever the dialer then makes of it
                    }

                    // Answered only once the dialer has the event: a failure answers 500, and Vonage sends it again

                    const event = parseEvent(body, { callId: ref.call_id, attempt: ref.attempt });
                    if (event) {
                        await dialerOf(server).handleEvent(event);
                    }

                    return h.response().code(204);
                }
            }
        },
        {
            method: 'POST',
            path: '/webhooks/vonage/recording',
            options: {
                description: 'Vonage recording webhook: a call\'s recording is ready to fetch',
                ...notice,
                validate: { query: Schemas.callRefQuery, payload: Schemas.recordingBody },
                handler: async (request, h) => {

                    const ref = request.query as Ref;
                    await dialerOf(server).handleRecording(parseRecording(request.payload as Record<string, unknown>, { callId: ref.call_id }));
                    return h.response().code(204);
                }
            }
        }
    ];
};
