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


// The tenant's settings: the columns that the plugins declare as settings (core.tenantSettings)

export const settings = async (db: Db, tenantId: string, names: string[]): Promise<Record<string, unknown>> => {

    return await db('tenants').where({ id: tenantId }).first(names);
};


export const changeSettings = async (db: Db, tenantId: string, names: string[], changes: Record<string, unknown>): Promise<Record<string, unknown>> => {

    const [row] = await db('tenants').where({ id: tenantId }).update({ ...changes, updated_at: db.fn.now() }).returning(names);
    return row;
};
