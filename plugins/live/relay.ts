import type { Server } from '@hapi/hapi';

import { liveChannel, type LiveEvent } from '../../core/live';
import type { Core } from '../../core/plugin';
import type { CampaignStats } from './stats';


// Every live event of the cluster reaches every api instance through Redis; each hands it to the
// nes subscriptions of its own clients. The tenant travels with the event (`internal`), and the
// subscriptions' filter lets it through only to that tenant's clients.

const types = new Set(['call', 'turn', 'campaign', 'tenant']);

const isEvent = (value: unknown): value is LiveEvent => {

    const event = value as Partial<LiveEvent> | null;
    return typeof event?.tenant_id === 'string' && types.has(event.type!) && typeof event.data === 'object' && event.data !== null;
};


export class LiveRelay {

    #subscriber: ReturnType<Core['redis']['duplicate']>;

    constructor(private readonly server: Server, private readonly core: Core, private readonly stats: CampaignStats) {

        this.#subscriber = core.redis.duplicate();
        this.#subscriber.on('error', () => undefined);              // the main client reports outages
        this.#subscriber.on('message', (channel: string, message: string) => this.#relay(message));
    }

    async start() {

        await this.#subscriber.subscribe(liveChannel(this.core.config.redisPrefix)).catch(() => undefined);    // resubscribed on reconnect
    }

    stop() {

        this.#subscriber.disconnect();
    }

    #disconnect(tenantId: string) {

        this.server.eachSocket((socket) => {

            if ((socket.auth.credentials as { tenant_id?: string } | null)?.tenant_id === tenantId) {
                void socket.disconnect();
            }
        });
    }

    #relay(message: string) {

        let event: unknown;
        try {
            event = JSON.parse(message);
        }
        catch {
            return;
        }

        if (!isEvent(event)) {
            return;
        }

        const internal = { tenant_id: event.tenant_id };
        switch (event.type) {
            case 'call':
                void this.server.publish(`/calls/${event.call_id}`, { type: 'call', call: event.data }, { internal });
                void this.server.publish('/tenants/me/calls', { type: 'call', call: event.data }, { internal });
                break;

            case 'turn':
                void this.server.publish(`/calls/${event.call_id}`, { type: 'turn', turn: event.data }, { internal });
                break;

            case 'tenant':
                if (event.data.status === 'suspended') {
                    this.#disconnect(event.tenant_id);           // their tokens no longer sign them in again
                }

                break;
        }

        if (event.campaign_id) {
            this.stats.changed(event.campaign_id);
        }
    }
}
