import type { Db } from '../../core/db';
import type { Redis } from '../../core/redis';
import { liveCallStatuses } from './outcomes';


// Concurrency slots shared by every worker: one sorted set per campaign and per tenant, a member
// per call, scored by the lease's expiry on Redis's own clock. Expired members are swept before
// each count, so the slots of a dead worker come back once its leases run out; live calls have
// theirs renewed from Postgres by the reconciler. A marker key says the sets are whole: when
// Redis lost it (a restart, a flush), no slot is handed out until they are rebuilt from Postgres.

const acquireScript = `
if redis.call('EXISTS', KEYS[3]) == 0 then return -2 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return -1 end
local expiry = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], expiry, ARGV[3])
redis.call('ZADD', KEYS[2], expiry, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
`;

const renewScript = `
local t = redis.call('TIME')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
    redis.call('ZADD', KEYS[1], expiry, ARGV[i])
    redis.call('ZADD', KEYS[2], expiry, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return #ARGV - 1
`;


export interface SlotHolder {
    campaignId: string;
    tenantId: string;
    callId: string;
}

export type Acquired = 'acquired' | 'campaign_full' | 'tenant_full' | 'lost';


const campaignKey = (campaignId: string) => `dialer:slots:campaign:${campaignId}`;

const tenantKey = (tenantId: string) => `dialer:slots:tenant:${tenantId}`;

const wholeKey = 'dialer:slots:whole';


export class Slots {

    constructor(private readonly redis: Redis, private readonly prefix: string, private readonly leaseMs: number) { }

    // Pub/sub channels are not prefixed by ioredis

    get channel() {

        return `${this.prefix}:dialer:freed`;
    }

    async acquire(holder: SlotHolder, limits: { campaign: number; tenant: number }): Promise<Acquired> {

        const result = await this.redis.eval(acquireScript, 3, campaignKey(holder.campaignId), tenantKey(holder.tenantId), wholeKey, limits.campaign, limits.tenant, holder.callId, this.leaseMs) as number;
        return ({ 1: 'acquired', 0: 'campaign_full', [-1]: 'tenant_full', [-2]: 'lost' } as const)[result as 1 | 0 | -1 | -2];
    }

    async release(holder: SlotHolder) {

        await this.redis.multi()
            .zrem(campaignKey(holder.campaignId), holder.callId)
            .zrem(tenantKey(holder.tenantId), holder.callId)
            .exec();

        await this.redis.publish(this.channel, `${holder.campaignId} ${holder.tenantId}`);
    }

    // Renews (or puts back) the leases of calls that Postgres says are live

    async renew(campaignId: string, tenantId: string, callIds: string[]) {

        if (callIds.length) {
            await this.redis.eval(renewScript, 2, campaignKey(campaignId), tenantKey(tenantId), this.leaseMs, ...callIds);
        }
    }

    // Every live call's slot, from Postgres; then the sets are whole again

    async restore(db: Db) {

        const groups: Array<{ campaign_id: string; tenant_id: string; ids: string[] }> = await db('calls')
            .whereIn('status', liveCallStatuses)
            .groupBy('campaign_id', 'tenant_id')
            .select('campaign_id', 'tenant_id', db.raw('array_agg(id) AS ids'));

        for (const group of groups) {
            await this.renew(group.campaign_id, group.tenant_id, group.ids);
        }

        await this.redis.set(wholeKey, '1');
    }
}


// Calls per second across every worker, by the generic cell rate algorithm on Redis's clock:
// the answer is how many milliseconds to wait before the next call may be placed (0: now). Calls
// are spaced evenly, with no burst, so no one-second window ever holds more than the limit.

const paceScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat > now then return math.ceil(tat - now) end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil(interval * 2 + 1000))
return 0
`;


export const pace = async (redis: Redis, callsPerSecond: number) => {

    return await redis.eval(paceScript, 1, 'dialer:pace', 1000 / callsPerSecond) as number;
};
