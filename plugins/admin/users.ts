import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import * as Audit from './audit';
import { containing } from './search';


// Every tenant's users, and their roles. Sessions read the role on every request, so a change
// applies to the user's next request.

export const roles = ['user', 'owner', 'admin'];

const columns = ['u.id', 'u.email', 'u.name', 'u.role', 'u.status', 'u.tenant_id', 't.business_name', 'u.last_login_at', 'u.created_at'];

const withTenant = (db: Db) => db('user_profiles as u').join('tenants as t', 't.id', 'u.tenant_id');


export interface ListQuery {
    page: number;
    page_size: number;
    tenant_id?: string;
    role?: string;
    search?: string;
}


export const list = async (db: Db, query: ListQuery) => {

    const filtered = db('user_profiles as u').modify((builder) => {

        if (query.tenant_id) {
            builder.where('u.tenant_id', query.tenant_id);
        }

        if (query.role) {
            builder.where('u.role', query.role);
        }

        if (query.search) {
            builder.where('u.email', 'ilike', containing(query.search));
        }
    });

    const [items, [{ total }]] = await Promise.all([
        filtered.clone().join('tenants as t', 't.id', 'u.tenant_id').orderBy([{ column: 'u.created_at', order: 'desc' }, { column: 'u.id', order: 'desc' }]).limit(query.page_size).offset((query.page - 1) * query.page_size).select(columns),
        filtered.clone().count('* as total') as unknown as Promise<[{ total: string }]>
    ]);

    return { items, page: query.page, page_size: query.page_size, total: Number(total) };
};


export interface RoleChange {
    user_id: string;
    role: 'user' | 'owner' | 'admin';
    admin_emails: readonly string[];
}


// An admin never demotes themselves, so the one making a change is always an admin left behind.
// Both rows are locked in one order: two admins demoting each other cannot both succeed.

export const changeRole = async (db: Db, admin: Audit.Admin, change: RoleChange) => {

    if (change.user_id === admin.id && change.role !== 'admin') {
        throw Boom.conflict('You cannot give up your own admin role; ask another admin');
    }

    await db.transaction(async (trx) => {

        const rows: Array<{ id: string; email: string; role: string }> = await trx('user_profiles').whereIn('id', [admin.id, change.user_id]).orderBy('id').forUpdate().select('id', 'email', 'role');
        const target = rows.find((row) => row.id === change.user_id);
        if (!target) {
            throw Boom.notFound('User not found');
        }

        if (rows.find((row) => row.id === admin.id)?.role !== 'admin') {
            throw Boom.forbidden('You are no longer an admin');
        }

        if (target.role === change.role) {
            throw Boom.conflict(`The user is already ${change.role}`);
        }

        // ADMIN_EMAILS gives the role back at the next sign-in: the change would not hold

        if (target.role === 'admin' && change.admin_emails.includes(target.email)) {
            throw Boom.conflict(`${target.email} is named in ADMIN_EMAILS, which makes it an admin at every sign-in; remove it there first`);
        }

        await trx('user_profiles').where({ id: target.id }).update({ role: change.role, updated_at: trx.fn.now() });
        await Audit.record(trx, admin, { action: 'user.change_role', target_type: 'user', target_id: target.id, details: { email: target.email, from: target.role, to: change.role } });
    });

    return await withTenant(db).where('u.id', change.user_id).first(columns);
};
