import type { Db } from '../../core/db';
import { statuses as campaignStatuses } from '../campaigns/schemas';
import { liveCallStatuses } from '../dialer/outcomes';
import { statuses as tenantStatuses } from './tenants';
import { roles } from './users';


// The platform at a glance, counted from the rows at the moment of asking. Days and months are
// UTC ones: the platform has no time zone of its own.

const countBy = async (query: Promise<Array<{ key: string; count: string }>>, keys: string[]) => {

    const counts = Object.fromEntries(keys.map((key) => [key, 0]));
    for (const row of await query) {
        counts[row.key] = Number(row.count);
    }

    return { total: Object.values(counts).reduce((sum, count) => sum + count, 0), counts };
};


const callTotals = `
    SELECT
        count(*)::integer AS total,
        (count(*) FILTER (WHERE created_at >= :dayStart AND created_at < :dayEnd))::integer AS today,
        (count(*) FILTER (WHERE status = ANY(:live)))::integer AS live,
        coalesce(sum(billed_minutes), 0)::bigint AS minutes,
        coalesce(sum(billed_minutes) FILTER (WHERE created_at >= :monthStart AND created_at < :monthEnd), 0)::bigint AS minutes_this_month
    FROM calls`;


export const platform = async (db: Db, now: Date) => {

    const [year, month, day] = [now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()];
    const bounds = {
        dayStart: new Date(Date.UTC(year, month, day)),
        dayEnd: new Date(Date.UTC(year, month, day + 1)),
        monthStart: new Date(Date.UTC(year, month, 1)),
        monthEnd: new Date(Date.UTC(year, month + 1, 1))
    };

    const [tenants, users, campaigns, { rows: [calls] }] = await Promise.all([
        countBy(db('tenants').groupBy('status').select('status as key').count('* as count'), tenantStatuses),
        countBy(db('user_profiles').groupBy('role').select('role as key').count('* as count'), roles),
        countBy(db('campaigns').whereNull('deleted_at').groupBy('status').select('status as key').count('* as count'), campaignStatuses),
        db.raw(callTotals, { ...bounds, live: liveCallStatuses })
    ]);

    return {
        tenants: { total: tenants.total, by_status: tenants.counts },
        users: { total: users.total, by_role: users.counts },
        campaigns: { total: campaigns.total, by_status: campaigns.counts },
        calls: { total: calls.total, today: calls.today, live: calls.live },
        minutes_billed: { total: Number(calls.minutes), this_month: Number(calls.minutes_this_month) }
    };
};
