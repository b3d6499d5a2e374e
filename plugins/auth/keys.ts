import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import type { Clock } from '../../core/plugin';
import { scoped } from '../../core/tenancy';
import { hashOf, newSecret } from './tokens';
import { toCurrentUser, type Credentials } from './users';


// API keys let a tenant's own servers call Talky: `Authorization: Bearer tk_...`. The key is shown
// once at creation; afterwards only its prefix is, and only its hash is stored.

export const keyPattern = /^tk_[A-Za-z0-9_-]{43}$/;

const columns = ['id', 'name', 'prefix', 'created_at', 'last_used_at'];


export const create = async (db: Db, tenantId: string, userId: string | null, name: string) => {

    const key = `tk_${newSecret()}`;
    const [row] = await db('api_keys')
        .insert({ tenant_id: tenantId, created_by: userId, name, prefix: key.slice(0, 11), key_hash: hashOf(key) })
        .returning(columns);

    return { ...row, key };
};


export const list = (db: Db, tenantId: string) => {

    return scoped(db, tenantId)('api_keys').whereNull('revoked_at').orderBy('created_at', 'desc').select(columns);
};


export const revoke = async (db: Db, tenantId: string, id: string, clock: Clock) => {

    const count = await scoped(db, tenantId)('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: clock.now() });
    if (!count) {
        throw Boom.notFound('No such API key');
    }
};


// An API key acts for its tenant with the user role: it can run campaigns, not manage keys

export const credentials = async (db: Db, key: string, clock: Clock): Promise<Credentials | null> => {

    const row = await db('api_keys as k')
        .join('tenants as t', 't.id', 'k.tenant_id')
        .where({ 'k.key_hash': hashOf(key), 't.status': 'active' })
        .whereNull('k.revoked_at')
        .first('k.id', 'k.name', 'k.last_used_at', 'k.tenant_id', 't.business_name', 't.minutes_remaining');

    if (!row) {
        return null;
    }

    // Written at most once a minute per key, not on every request

    const now = clock.now();
    if (!row.last_used_at || now.getTime() - new Date(row.last_used_at).getTime() > 60_000) {
        await db('api_keys').where({ id: row.id }).update({ last_used_at: now });
    }

    return {
        ...toCurrentUser({ ...row, id: null, email: null, role: 'user' }),
        name: row.name,
        kind: 'api_key',
        api_key_id: row.id,
        scope: ['user', 'api_key']
    };
};
