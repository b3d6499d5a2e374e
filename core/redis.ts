import Redis from 'ioredis';
import type { Logger } from 'pino';


export type { Redis };


// One client per process, every key under the install's prefix. Redis being down must not stop
// the process: the client reconnects by itself, commands fail fast, and errors are logged once a
// minute at most instead of once per reconnect attempt.

export const createRedis = (url: string, prefix: string, logger: Logger): Redis => {

    const redis = new Redis(url, {
        keyPrefix: `${prefix}:`,
        maxRetriesPerRequest: 1,
        connectTimeout: 5000,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        lazyConnect: true
    });

    let lastWarning = 0;
    redis.on('error', (err) => {

        const now = Date.now();
        if (now - lastWarning > 60_000) {
            lastWarning = now;
            logger.warn({ err: { message: err.message } }, 'redis connection error');
        }
    });

    return redis;
};


export const connectRedis = (redis: Redis) => {

    // Starts connecting in the background; the health check reports it until it answers

    if (redis.status === 'wait') {
        redis.connect().catch(() => undefined);
    }
};


export const closeRedis = async (redis: Redis) => {

    if (redis.status === 'ready') {
        await redis.quit().catch(() => redis.disconnect());
        return;
    }

    redis.disconnect();
};
