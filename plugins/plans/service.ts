import type { Db } from '../../core/db';


export interface Plan {
    id: string;
    name: string;
    description: string | null;
    price: number;
    currency: string;
    minutes: number;
    max_concurrent_calls: number;
    features: string[];
}


const columns = ['id', 'name', 'description', 'price', 'currency', 'minutes', 'max_concurrent_calls', 'features'];


const toPlan = (row: Plan & { price: string | number }): Plan => ({ ...row, price: Number(row.price) });


export const list = async (db: Db): Promise<Plan[]> => {

    const rows = await db('plans').where({ is_active: true }).orderBy(['sort_order', 'id']).select(columns);
    return rows.map(toPlan);
};


// An inactive plan is still found by id (existing tenants keep it), but cannot be chosen anew

export const get = async (db: Db, id: string, { activeOnly = false } = {}): Promise<Plan | null> => {

    const row = await db('plans').where({ id, ...(activeOnly ? { is_active: true } : {}) }).first(columns);
    return row ? toPlan(row) : null;
};
