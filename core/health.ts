import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';

import Package from '../package.json';
import type { Core } from './plugin';


// Health answers 200 only when PostgreSQL and Redis both answer within the timeout; otherwise
// 503 naming what failed. Nothing is cached: the process recovers as soon as they come back.

type Check = 'ok' | 'unreachable' | 'timeout';


const withTimeout = async (probe: () => Promise<unknown>, ms: number): Promise<Check> => {

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Check>((resolve) => {

        timer = setTimeout(() => resolve('timeout'), ms);
    });

    try {
        return await Promise.race([probe().then((): Check => 'ok', (): Check => 'unreachable'), timeout]);
    }
    finally {
        clearTimeout(timer);
    }
};


export const check = async (core: Core) => {

    const ms = core.config.healthTimeoutMs;
    const [database, redis] = await Promise.all([
        withTimeout(() => core.db.raw('select 1'), ms),
        core.redis.status === 'ready' ? withTimeout(() => core.redis.ping(), ms) : 'unreachable' as const
    ]);

    const checks = { database, redis };
    const failing = Object.entries(checks).filter(([, state]) => state !== 'ok');
    return {
        status: failing.length ? 'unavailable' : 'ok',
        checks,
        version: Package.version,
        ...(failing.length ? { detail: failing.map(([name, state]) => (state === 'timeout' ? `${name} did not answer within ${ms} ms` : `${name} is unreachable`)).join(', ') } : {})
    };
};


const checkState = Joi.string().valid('ok', 'unreachable', 'timeout');

const healthSchema = Joi.object({
    status: Joi.string().valid('ok', 'unavailable').required(),
    checks: Joi.object({ database: checkState.required(), redis: checkState.required() }).required(),
    version: Joi.string().required(),
    detail: Joi.string()
}).label('Health');


export const routes = (core: Core): ServerRoute[] => [
    {
        method: 'GET',
        path: '/api/v1/health',
        options: {
            auth: false,
            description: 'Health of this process and of PostgreSQL and Redis',
            notes: 'Answers 503 with the failing check named while PostgreSQL or Redis is unreachable.',
            tags: ['api', 'health'],
            response: { status: { 200: healthSchema, 503: healthSchema } },
            handler: async (request, h) => {

                const health = await check(core);
                return h.response(health).code(health.status === 'ok' ? 200 : 503);
            }
        }
    }
];
