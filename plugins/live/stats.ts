import type { Server } from '@hapi/hapi';

import type { Core } from '../../core/plugin';
import * as Dialer from '../dialer/service';


// A campaign's stats, sent to its watchers as its calls change. Counting them is a query, and a
// busy campaign changes hundreds of times a second: each instance counts only the campaigns its
// own clients watch, at once on the first change and then at most once a second while they go on.

const everyMs = 1000;


interface Watched {
    tenantId: string;
    watchers: number;
    timer: NodeJS.Timeout | null;
    dirty: boolean;
}


export class CampaignStats {

    #watched = new Map<string, Watched>();

    constructor(private readonly server: Server, private readonly core: Core) { }

    watch(tenantId: string, campaignId: string) {

        const watched = this.#watched.get(campaignId);
        if (watched) {
            ++watched.watchers;
            return;
        }

        this.#watched.set(campaignId, { tenantId, watchers: 1, timer: null, dirty: false });
    }

    unwatch(campaignId: string) {

        const watched = this.#watched.get(campaignId);
        if (watched && --watched.watchers <= 0) {
            clearTimeout(watched.timer ?? undefined);
            this.#watched.delete(campaignId);
        }
    }

    changed(campaignId: string) {

        const watched = this.#watched.get(campaignId);
        if (!watched) {
            return;
        }

        if (watched.timer) {
            watched.dirty = true;
            return;
        }

        this.#send(campaignId, watched);
    }

    // The numbers as they are now, for one client that has just subscribed

    snapshot(tenantId: string, campaignId: string) {

        return Dialer.stats(this.core, tenantId, campaignId);
    }

    stop() {

        for (const watched of this.#watched.values()) {
            clearTimeout(watched.timer ?? undefined);
        }

        this.#watched.clear();
    }

    #send(campaignId: string, watched: Watched) {

        watched.dirty = false;
        watched.timer = setTimeout(() => {

            watched.timer = null;
            if (watched.dirty && this.#watched.get(campaignId) === watched) {
                this.#send(campaignId, watched);
            }
        }, everyMs);

        this.snapshot(watched.tenantId, campaignId).then(
            (stats) => this.server.publish(`/campaigns/${campaignId}`, { type: 'stats', stats }, { internal: { tenant_id: watched.tenantId } }),
            (err: Error) => this.core.logger.warn({ err, campaign: campaignId }, 'live campaign stats not counted')
        );
    }
}
