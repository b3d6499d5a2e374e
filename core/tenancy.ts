import Boom from '@hapi/boom';
import type { AuthCredentials } from '@hapi/hapi';

import type { Db } from './db';


// Every query of tenant data goes through here: the tenant comes from the caller's credentials,
// never from a body or a query string, so another tenant's rows are simply not found.

export interface Caller {
    id: string | null;                       // null for an API key
    tenant_id: string;
    role: 'user' | 'owner' | 'admin';
}


export const callerOf = (credentials: AuthCredentials | null | undefined): Caller => {

    const caller = credentials as Partial<Caller> | undefined;
    if (!caller?.tenant_id) {
        throw Boom.unauthorized('Sign in first');
    }

    return caller as Caller;
};


// Admins may act for another tenant where a route allows it (the reference's tenant_id on /start)

export const tenantIdFor = (credentials: AuthCredentials | null | undefined, requested?: string | null) => {

    const caller = callerOf(credentials);
    if (requested && requested !== caller.tenant_id) {
        if (caller.role !== 'admin') {
            throw Boom.forbidden('Only an admin may act for another tenant');
        }

        return requested;
    }

    return caller.tenant_id;
};


// scoped(db, tenantId)('campaigns') is db('campaigns') limited to the tenant's rows

export const scoped = (db: Db, tenantId: string) => {

    return (table: string) => db(table).where(`${table.split(/\s+as\s+|\s+/i).pop()}.tenant_id`, tenantId);
};


// Route auth options for the roles (admin is the platform's operator, owner a tenant's)

export const requireAdmin = { access: { scope: ['admin'] } };

export const requireOwner = { access: { scope: ['owner', 'admin'] } };

export const optionalAuth = { mode: 'optional' as const };
