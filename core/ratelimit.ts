import Boom from '@hapi/boom';

import type { Redis } from './redis';


// Fixed-window counters in Redis, shared by every instance. When Redis is down the limiter lets
// requests through: losing rate limits for a while is better than refusing every sign-in.

const script = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { count, redis.call('PTTL', KEYS[1]) }
`;


export interface Limit {
    key: string;
    max: number;
    windowSeconds: number;
}


export const hit = async (redis: Redis, { key, max, windowSeconds }: Limit) => {

    if (redis.status !== 'ready') {
        return { allowed: true, retryAfter: 0 };
    }

    try {
        const [count, ttl] = await redis.eval(script, 1, `ratelimit:${key}`, windowSeconds * 1000) as [number, number];
        return { allowed: count <= max, retryAfter: Math.max(1, Math.ceil(ttl / 1000)) };
    }
    catch {
        return { allowed: true, retryAfter: 0 };
    }
};


// Counts the request against every limit; any one exceeded answers 429 with Retry-After

export const enforce = async (redis: Redis, limits: Limit[]) => {

    const results = await Promise.all(limits.map((limit) => hit(redis, limit)));
    const exceeded = results.filter((result) => !result.allowed);
    if (exceeded.length) {
        const retryAfter = Math.max(...exceeded.map((result) => result.retryAfter));
        const error = Boom.tooManyRequests(`Too many attempts; try again in ${retryAfter} seconds`);
        error.output.headers['Retry-After'] = String(retryAfter);
        throw error;
    }
};


// The caller's address: the first X-Forwarded-For hop when a trusted proxy sets it

export const clientAddress = (request: { headers: Record<string, unknown>; info: { remoteAddress: string } }, trustProxy: boolean) => {

    const forwarded = request.headers['x-forwarded-for'];
    if (trustProxy && typeof forwarded === 'string' && forwarded.trim()) {
        return forwarded.split(',')[0]!.trim();
    }

    return request.info.remoteAddress;
};
