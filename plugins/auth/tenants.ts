import type { Db } from '../../core/db';


// What other plugins may ask about a tenant: its plan's limits and its minutes

export interface TenantLimits {
    plan_id: string;
    max_concurrent_calls: number;
    minutes_remaining: number;
}


export const limits = async (db: Db, tenantId: string): Promise<TenantLimits> => {

    return await db('tenants as t')
        .join('plans as p', 'p.id', 't.plan_id')
        .where('t.id', tenantId)
        .first('t.plan_id', 'p.max_concurrent_calls', 't.minutes_remaining');
};
