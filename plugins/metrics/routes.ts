import Crypto from 'crypto';

import Boom from '@hapi/boom';
import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import type { Registry } from 'prom-client';


// Both sides hashed first: timingSafeEqual wants equal lengths, and the token's length stays unsaid

const digest = (value: string) => Crypto.createHash('sha256').update(value).digest();

const bearerOf = (header: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';

const holds = (header: string | undefined, token: string) => Crypto.timingSafeEqual(digest(bearerOf(header)), digest(token));


// What the docs say of it: text, not JSON

const text = {
    produces: ['text/plain'],
    responses: {
        200: { description: 'Prometheus\'s text exposition format, version 0.0.4', schema: Joi.string() },
        401: { description: 'No bearer token, or not METRICS_TOKEN' },
        404: { description: 'METRICS_TOKEN is unset: metrics are off' }
    }
};


// Not a user route: no session, only METRICS_TOKEN, which Prometheus sends as a bearer token

export const routes = (registry: Registry, token: string | undefined): ServerRoute[] => [
    {
        method: 'GET',
        path: '/metrics',
        options: {
            auth: false,
            description: 'This process\'s metrics in Prometheus\'s text format',
            notes: 'Answers 404 while METRICS_TOKEN is unset; otherwise asks for `Authorization: Bearer <METRICS_TOKEN>`. Queue depths and live calls are read from Redis and Postgres at each scrape.',
            tags: ['api', 'metrics'],
            plugins: { 'hapi-swagger': text },
            response: { status: { 200: Joi.string() } },
            handler: async (request, h) => {

                if (!token) {
                    throw Boom.notFound('Metrics are off: set METRICS_TOKEN');
                }

                if (!holds(request.headers.authorization as string | undefined, token)) {
                    throw Boom.unauthorized('Metrics need Authorization: Bearer <METRICS_TOKEN>', 'Bearer');
                }

                return h.response(await registry.metrics()).type(registry.contentType);
            }
        }
    }
];
