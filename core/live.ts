import type { Logger } from 'pino';

import type { Redis } from './redis';


// Live events: what just changed, for the clients watching it. Whoever changes something (the
// dialer, the voice agent) publishes it here, in any process of any role; every api instance's
// live plugin hears each event through Redis and hands it to the nes subscriptions it serves.
// Nothing is kept and nothing waits for it: a client that was away reads the REST API again.

export interface LiveEvent {
    tenant_id: string;
    type: 'call' | 'turn' | 'campaign' | 'tenant';
    campaign_id?: string;
    call_id?: string;
    data: Record<string, unknown>;
}


export const liveChannel = (redisPrefix: string) => `${redisPrefix}:live`;


export class LiveEvents {

    #lastWarning = 0;

    constructor(private readonly redis: Redis, private readonly redisPrefix: string, private readonly logger: Logger) { }

    publish(event: LiveEvent) {

        this.redis.publish(liveChannel(this.redisPrefix), JSON.stringify(event)).catch((err: Error) => {

            const now = Date.now();
            if (now - this.#lastWarning > 60_000) {
                this.#lastWarning = now;
                this.logger.warn({ err: { message: err.message } }, 'live events are not getting out');
            }
        });
    }
}
