// The order in which one worker's waiting dials go ahead. Slots: a dial that found its campaign
// or tenant full waits here until a slot of that campaign or tenant is freed (anywhere in the
// cluster, by pub/sub), or for the next sweep, which catches leases that simply ran out. Pace:
// the calls-per-second budget is handed out priority dials first, then one tenant at a time in
// turn, so a tenant with a hundred thousand leads cannot starve one with ten.


const maxPermits = 1000;


interface Waiter {
    campaignId: string;
    tenantId: string;
    urgent: boolean;
    resolve: () => void;
}


export class Gate {

    private readonly waiting: Waiter[] = [];
    private readonly permits = new Map<string, number>();            // slots freed while nobody of the campaign waited
    private readonly pacing = { urgent: [] as Array<() => void>, tenants: new Map<string, Array<() => void>>() };
    private pacerRunning = false;
    private closed = false;

    constructor(private readonly pace: () => Promise<number>, private readonly sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))) { }

    // Resolves when a slot of the campaign or tenant may be free; the caller tries again

    waitForSlot(campaignId: string, tenantId: string, urgent: boolean) {

        return new Promise<void>((resolve) => {

            const permits = this.permits.get(campaignId) ?? 0;
            if (this.closed || permits) {
                this.permits.set(campaignId, permits - 1);
                if (permits <= 1) {
                    this.permits.delete(campaignId);
                }

                return resolve();
            }

            const waiter = { campaignId, tenantId, urgent, resolve };
            const at = urgent ? this.waiting.findIndex((other) => !other.urgent) : -1;
            this.waiting.splice(at === -1 ? this.waiting.length : at, 0, waiter);
        });
    }

    // A slot was freed: the first waiter of that campaign, else of that tenant, tries for it. With
    // nobody waiting, the campaign keeps a permit, so a dial that is between its failed try and
    // its wait does not miss the news and sleep until the sweep.

    freed(campaignId: string, tenantId: string) {

        const index = this.waiting.findIndex((waiter) => waiter.campaignId === campaignId);
        if (index !== -1) {
            return this.wake(index);
        }

        const other = this.waiting.findIndex((waiter) => waiter.tenantId === tenantId);
        if (other !== -1) {
            return this.wake(other);
        }

        this.permits.set(campaignId, Math.min((this.permits.get(campaignId) ?? 0) + 1, maxPermits));
    }

    // Leases that ran out free slots silently: every campaign's first waiter tries again

    sweep() {

        const seen = new Set<string>();
        for (let i = 0; i < this.waiting.length; ++i) {
            const { campaignId } = this.waiting[i]!;
            if (!seen.has(campaignId)) {
                seen.add(campaignId);
                this.wake(i--);
            }
        }
    }

    get waiters() {

        return this.waiting.length;
    }

    // Resolves when this dial may be placed under the calls-per-second limit

    paced(tenantId: string, urgent: boolean) {

        return new Promise<void>((resolve) => {

            if (this.closed) {
                return resolve();
            }

            if (urgent) {
                this.pacing.urgent.push(resolve);
            }
            else {
                const queue = this.pacing.tenants.get(tenantId) ?? [];
                queue.push(resolve);
                this.pacing.tenants.set(tenantId, queue);
            }

            if (!this.pacerRunning) {
                this.runPacer().catch(() => undefined);
            }
        });
    }

    // Lets every waiter go, so that stopping workers are not held

    close() {

        this.closed = true;
        this.permits.clear();
        this.waiting.splice(0).forEach((waiter) => waiter.resolve());
        let next: (() => void) | undefined;
        while ((next = this.nextPaced())) {
            next();
        }
    }

    private wake(index: number) {

        if (index !== -1) {
            this.waiting.splice(index, 1)[0]!.resolve();
        }
    }

    private nextPaced() {

        if (this.pacing.urgent.length) {
            return this.pacing.urgent.shift();
        }

        // Map order is the turn: the tenant served goes to the back

        for (const [tenantId, queue] of this.pacing.tenants) {
            this.pacing.tenants.delete(tenantId);
            const next = queue.shift();
            if (queue.length) {
                this.pacing.tenants.set(tenantId, queue);
            }

            if (next) {
                return next;
            }
        }

        return undefined;
    }

    // The flag drops in the same turn as the loop's last check (no await between them), so a dial
    // that asks just then starts a new loop rather than waiting on one that has ended

    private async runPacer() {

        this.pacerRunning = true;
        try {
            while (!this.closed && (this.pacing.urgent.length || this.pacing.tenants.size)) {
                let wait: number;
                try {
                    wait = await this.pace();
                }
                catch {
                    wait = 1000;                            // Redis away: try again shortly
                }

                if (wait > 0) {
                    await this.sleep(wait);
                    continue;
                }

                this.nextPaced()?.();
            }
        }
        finally {
            this.pacerRunning = false;
        }
    }
}
