import Boom from '@hapi/boom';
import type { Lifecycle, Request, ResponseToolkit, Server } from '@hapi/hapi';


// Every error leaves as { detail }. A 5xx says only that it failed and which request it was: the
// error itself, with stack and SQL, goes to the log under the same request id.

export const registerErrorFormat = (server: Server) => {

    server.ext('onPreResponse', (request: Request, h: ResponseToolkit) => {

        const response = request.response;
        if (!Boom.isBoom(response)) {
            if ('header' in response) {
                response.header('x-request-id', request.info.id);
            }

            return h.continue;
        }

        const { statusCode, headers } = response.output;
        let detail: string;

        if (statusCode >= 500) {
            request.logger.error({ err: response, req_id: request.info.id, url: request.path }, 'request failed');
            detail = statusCode === 500 ? `Internal server error (request ${request.info.id})` : String(response.output.payload.message);
        }
        else if (statusCode === 404 && (request.route.method as string) === '_special') {
            detail = `No route for ${request.method.toUpperCase()} ${request.path}`;
        }
        else if (statusCode === 403 && response.message === 'Insufficient scope') {
            detail = 'Your role does not allow this';
        }
        else {
            detail = String(response.output.payload.message || response.output.payload.error);
        }

        const reply = h.response({ detail }).code(statusCode).header('x-request-id', request.info.id);
        for (const [name, value] of Object.entries(headers)) {
            reply.header(name, String(value));
        }

        return reply;
    });
};


// hapi hides Joi's message by default; rethrowing it names the field that failed

const sources: Record<string, string> = { payload: 'The request body', query: 'The query string', params: 'The path', headers: 'The headers' };


export const failAction: Lifecycle.Method = (request, h, err) => {

    const source = ((err as Boom.Boom | undefined)?.output?.payload as { validation?: { source?: string } } | undefined)?.validation?.source;
    const message = (err?.message ?? 'Invalid request').replace(/^"value"/, sources[source ?? ''] ?? 'The request');
    throw Boom.badRequest(message);
};
