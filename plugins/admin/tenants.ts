import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import * as Plans from '../plans/service';
import * as Audit from './audit';
import { containing } from './search';


// The platform's tenants as the operator sees them, and what the operator may change on one:
// its plan, its minutes, and whether it may use Talky at all

export const statuses = ['active', 'suspended'];

const columns = ['t.id', 't.business_name', 't.plan_id', 't.minutes_remaining', 't.status', 't.created_at', 't.updated_at'];

const maxMinutes = 2_147_483_647;                   // tenants.minutes_remaining is an integer


export interface ListQuery {
    page: number;
    page_size: number;
    search?: string;
    status?: string;
}


// The search matches the business name or the email of any of the tenant's users

export const list = async (db: Db, query: ListQuery) => {

    const filtered = db('tenants as t').modify((builder) => {

        if (query.status) {
            builder.where('t.status', query.status);
        }

        if (query.search) {
            const pattern = containing(query.search);
            builder.where((match) => {

                match.where('t.business_name', 'ilike', pattern).orWhereExists((users) => {

                    users.select(db.raw('1')).from('user_profiles as u').whereRaw('u.tenant_id = t.id').where('u.email', 'ilike', pattern);
                });
            });
        }
    });

    const [items, [{ total }]] = await Promise.all([
        filtered.clone().orderBy([{ column: 't.created_at', order: 'desc' }, { column: 't.id', order: 'desc' }]).limit(query.page_size).offset((query.page - 1) * query.page_size).select(columns),
        filtered.clone().count('* as total') as unknown as Promise<[{ total: string }]>
    ]);

    return { items, page: query.page, page_size: query.page_size, total: Number(total) };
};


const usage = `
    SELECT
        (SELECT count(*) FROM user_profiles WHERE tenant_id = :id)::integer AS users,
        (SELECT count(*) FROM campaigns WHERE tenant_id = :id AND deleted_at IS NULL)::integer AS campaigns,
        (SELECT count(*) FROM campaigns WHERE tenant_id = :id AND deleted_at IS NULL AND status = 'running')::integer AS running_campaigns,
        (SELECT count(*) FROM calls WHERE tenant_id = :id)::integer AS calls,
        (SELECT coalesce(sum(billed_minutes), 0) FROM calls WHERE tenant_id = :id)::bigint AS minutes_used`;


export const get = async (db: Db, id: string) => {

    const tenant = await db('tenants as t').where('t.id', id).first(columns);
    if (!tenant) {
        throw Boom.notFound('Tenant not found');
    }

    const [plan, { rows: [counts] }, suspension] = await Promise.all([
        Plans.get(db, tenant.plan_id),
        db.raw(usage, { id }),
        tenant.status === 'suspended' ? Audit.latest(db, 'tenant.suspend', id) : null
    ]);

    const { minutes_used: minutesUsed, ...rest } = counts;
    return {
        ...tenant,
        plan,
        minutes_used: Number(minutesUsed),
        counts: rest,
        suspension: suspension ? { reason: suspension.details.reason, suspended_at: suspension.created_at, suspended_by: suspension.admin_email } : null
    };
};


// The tenant's row, locked for the rest of the transaction: every change here begins with it

const lock = async (trx: Db, id: string) => {

    const tenant = await trx('tenants').where({ id }).forUpdate().first('id', 'plan_id', 'status', 'minutes_remaining');
    if (!tenant) {
        throw Boom.notFound('Tenant not found');
    }

    return tenant;
};


// Only a plan still offered may be given; the dialer reads the plan's limits on every dial, so
// the change applies to the next call

export const changePlan = async (db: Db, admin: Audit.Admin, id: string, planId: string) => {

    if (!await Plans.get(db, planId)) {
        throw Boom.badRequest(`Unknown plan ${planId}`);
    }

    if (!await Plans.get(db, planId, { activeOnly: true })) {
        throw Boom.badRequest(`Plan ${planId} is no longer offered`);
    }

    await db.transaction(async (trx) => {

        const tenant = await lock(trx, id);
        if (tenant.plan_id === planId) {
            throw Boom.conflict(`The tenant is already on plan ${planId}`);
        }

        await trx('tenants').where({ id }).update({ plan_id: planId, updated_at: trx.fn.now() });
        await Audit.record(trx, admin, { action: 'tenant.change_plan', target_type: 'tenant', target_id: id, details: { from: tenant.plan_id, to: planId } });
    });

    return await get(db, id);
};


export const addMinutes = async (db: Db, admin: Audit.Admin, id: string, input: { minutes: number; reason?: string }) => {

    return await db.transaction(async (trx) => {

        const tenant = await lock(trx, id);
        if (tenant.minutes_remaining + input.minutes > maxMinutes) {
            throw Boom.badRequest(`"minutes" would take the balance past ${maxMinutes}`);
        }

        const [{ minutes_remaining: remaining }] = await trx('tenants').where({ id })
            .update({ minutes_remaining: trx.raw('minutes_remaining + ?', [input.minutes]), updated_at: trx.fn.now() })
            .returning('minutes_remaining');

        await Audit.record(trx, admin, {
            action: 'tenant.add_minutes',
            target_type: 'tenant',
            target_id: id,
            details: { minutes: input.minutes, reason: input.reason ?? null, minutes_remaining: remaining }
        });

        return { tenant_id: id, minutes_added: input.minutes, minutes_remaining: remaining as number };
    });
};


// Sessions and API keys check the tenant's status on every request, so they stop at the commit.
// Running campaigns pause with the reason kept; calls in progress finish.

export const suspend = async (db: Db, admin: Audit.Admin, id: string, reason: string) => {

    if (id === admin.tenant_id) {
        throw Boom.conflict('You cannot suspend your own tenant: it would lock you out');
    }

    return await db.transaction(async (trx) => {

        if ((await lock(trx, id)).status === 'suspended') {
            throw Boom.conflict('The tenant is already suspended');
        }

        await trx('tenants').where({ id }).update({ status: 'suspended', updated_at: trx.fn.now() });

        // A start already under way holds its campaign's row: waiting for it here means the
        // campaign it sets running is seen, and paused, by the update below

        await trx('campaigns').where({ tenant_id: id }).whereNull('deleted_at').forUpdate().select('id');
        const paused: Array<{ id: string }> = await trx('campaigns').where({ tenant_id: id, status: 'running' }).whereNull('deleted_at')
            .update({ status: 'paused', paused_reason: `Tenant suspended: ${reason}`, updated_at: trx.fn.now() })
            .returning('id');

        const campaignIds = paused.map((campaign) => campaign.id);
        await Audit.record(trx, admin, { action: 'tenant.suspend', target_type: 'tenant', target_id: id, details: { reason, paused_campaigns: campaignIds } });
        return {
            tenant_id: id,
            status: 'suspended',
            paused_campaigns: campaignIds.length,
            message: `Tenant suspended; ${campaignIds.length} running campaigns paused`
        };
    });
};


// Campaigns stay paused: their owner decides when they call again

export const reactivate = async (db: Db, admin: Audit.Admin, id: string) => {

    return await db.transaction(async (trx) => {

        if ((await lock(trx, id)).status === 'active') {
            throw Boom.conflict('The tenant is already active');
        }

        await trx('tenants').where({ id }).update({ status: 'active', updated_at: trx.fn.now() });
        await Audit.record(trx, admin, { action: 'tenant.reactivate', target_type: 'tenant', target_id: id });
        return { tenant_id: id, status: 'active', message: 'Tenant reactivated; its paused campaigns wait for their owner to start them' };
    });
};
