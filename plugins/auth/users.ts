import type { Db } from '../../core/db';


// The signed-in caller as the API reference names it (CurrentUser), plus what auth needs

export interface CurrentUser {
    id: string | null;
    email: string | null;
    name: string | null;
    business_name: string | null;
    tenant_id: string;
    role: 'user' | 'owner' | 'admin';
    minutes_remaining: number;
}

export interface Credentials extends CurrentUser {
    kind: 'session' | 'api_key';
    session_id?: string;
    api_key_id?: string;
    scope: string[];
}


export const userColumns = [
    'u.id', 'u.email', 'u.name', 'u.role', 'u.tenant_id', 'u.status',
    't.business_name', 't.minutes_remaining', 't.status as tenant_status'
];


export const withTenant = (db: Db) => db('user_profiles as u').join('tenants as t', 't.id', 'u.tenant_id');


export const toCurrentUser = (row: Record<string, any>): CurrentUser => ({
    id: row.id,
    email: row.email,
    name: row.name,
    business_name: row.business_name,
    tenant_id: row.tenant_id,
    role: row.role,
    minutes_remaining: row.minutes_remaining
});


export const currentUser = (credentials: Credentials): CurrentUser => toCurrentUser(credentials);
