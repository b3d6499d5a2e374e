import type { Db } from '../../core/db';


// The admin_audit table: one row for every change an admin makes, written by the change's own
// transaction so a change and its record stand or fall together.

export const actions = [
    'tenant.change_plan',
    'tenant.add_minutes',
    'tenant.suspend',
    'tenant.reactivate',
    'user.change_role',
    'queue.retry'
] as const;

export type Action = typeof actions[number];


// The admin acting, from their session's credentials

export interface Admin {
    id: string;
    email: string;
    tenant_id: string;
}


export interface Entry {
    action: Action;
    target_type: 'tenant' | 'user' | 'queue';
    target_id: string;
    details?: Record<string, unknown>;
}


export const record = async (trx: Db, admin: Admin, entry: Entry) => {

    await trx('admin_audit').insert({
        admin_id: admin.id,
        admin_email: admin.email,
        action: entry.action,
        target_type: entry.target_type,
        target_id: entry.target_id,
        details: JSON.stringify(entry.details ?? {})
    });
};


export interface ListQuery {
    page: number;
    page_size: number;
    action?: Action;
    target_id?: string;
}


const columns = ['id', 'admin_id', 'admin_email', 'action', 'target_type', 'target_id', 'details', 'created_at'];


// Newest first: ids grow with every insert, so they order the rows as they were written

export const list = async (db: Db, query: ListQuery) => {

    const filtered = db('admin_audit').modify((builder) => {

        if (query.action) {
            builder.where({ action: query.action });
        }

        if (query.target_id) {
            builder.where({ target_id: query.target_id });
        }
    });

    const [rows, [{ total }]] = await Promise.all([
        filtered.clone().orderBy('id', 'desc').limit(query.page_size).offset((query.page - 1) * query.page_size).select(columns),
        filtered.clone().count('* as total') as unknown as Promise<[{ total: string }]>
    ]);

    const items = rows.map((row: { id: string }) => ({ ...row, id: Number(row.id) }));            // pg hands bigints back as strings
    return { items, page: query.page, page_size: query.page_size, total: Number(total) };
};


// The newest row of one action on one target, such as a suspended tenant's suspension

export const latest = (db: Db, action: Action, targetId: string) => {

    return db('admin_audit').where({ action, target_id: targetId }).orderBy('id', 'desc').first(columns);
};
