import Boom from '@hapi/boom';

import type { Db } from '../../core/db';
import type { Clock } from '../../core/plugin';
import * as Plans from '../plans/service';
import { hashOf, newSecret } from './tokens';
import { toCurrentUser, userColumns, withTenant, type CurrentUser, type Credentials } from './users';


export interface AuthSettings {
    clock: Clock;
    adminEmails: readonly string[];
    magicLinkTtlMinutes: number;
    sessionTtlSeconds: number;
}


const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

const later = (clock: Clock, seconds: number) => new Date(clock.now().getTime() + seconds * 1000);


// Registration creates the tenant with its plan's minutes and the user as its owner, in one
// transaction: two registrations of one email race on the unique index and exactly one wins.

export interface Registration {
    email: string;
    business_name: string;
    plan_id: string;
    name?: string;
}


export const register = async (db: Db, input: Registration, settings: AuthSettings) => {

    const plan = await Plans.get(db, input.plan_id, { activeOnly: true });
    if (!plan) {
        throw Boom.badRequest(`Unknown plan ${input.plan_id}`);
    }

    const conflict = () => Boom.conflict('That email is already registered; sign in instead');
    if (await db('user_profiles').where({ email: input.email }).first('id')) {
        throw conflict();
    }

    try {
        return await db.transaction(async (trx) => {

            const [tenant] = await trx('tenants')
                .insert({ business_name: input.business_name, plan_id: plan.id, minutes_remaining: plan.minutes })
                .returning(['id', 'business_name', 'minutes_remaining']);

            const [user] = await trx('user_profiles')
                .insert({ tenant_id: tenant.id, email: input.email, name: input.name ?? null, role: settings.adminEmails.includes(input.email) ? 'admin' : 'owner' })
                .returning(['id', 'email', 'role']);

            return { tenant, user };
        });
    }
    catch (err) {
        throw isUniqueViolation(err) ? conflict() : err;
    }
};


// A new link cancels the user's older unused ones, so only the latest link in the inbox works

export const issueLink = async (db: Db, userId: string, settings: AuthSettings) => {

    const token = newSecret();
    const now = settings.clock.now();

    await db.transaction(async (trx) => {

        await trx('magic_links').where({ user_id: userId }).whereNull('used_at').whereNull('revoked_at').update({ revoked_at: now });
        await trx('magic_links').insert({
            token_hash: hashOf(token),
            user_id: userId,
            created_at: now,
            expires_at: later(settings.clock, settings.magicLinkTtlMinutes * 60)
        });
    });

    return token;
};


export const findUser = (db: Db, email: string) => db('user_profiles').where({ email }).first('id', 'email', 'name', 'status');


// Exchanges a link for a session. The link is spent by the same statement that checks it, so two
// concurrent exchanges of one token cannot both succeed.

export const verify = async (db: Db, token: string, context: { ip?: string; userAgent?: string }, settings: AuthSettings) => {

    const now = settings.clock.now();
    const invalid = () => Boom.unauthorized('This sign-in link is invalid, used or expired; ask for a new one');

    return await db.transaction(async (trx) => {

        const [link] = await trx('magic_links')
            .where({ token_hash: hashOf(token) })
            .whereNull('used_at')
            .whereNull('revoked_at')
            .where('expires_at', '>', now)
            .update({ used_at: now })
            .returning('user_id');

        if (!link) {
            throw invalid();
        }

        const user = await withTenant(trx).where('u.id', link.user_id).first(userColumns);
        if (user.status === 'suspended' || user.tenant_status !== 'active') {
            throw Boom.forbidden('This account is suspended');
        }

        await trx('user_profiles').where({ id: user.id }).update({
            status: 'active',
            verified_at: trx.raw('coalesce(verified_at, ?)', [now]),
            last_login_at: now,
            updated_at: now,
            ...(settings.adminEmails.includes(user.email) ? { role: 'admin' } : {})
        });

        const [session] = await trx('sessions')
            .insert({
                user_id: user.id,
                created_at: now,
                expires_at: later(settings.clock, settings.sessionTtlSeconds),
                ip: context.ip?.slice(0, 64) ?? null,
                user_agent: context.userAgent?.slice(0, 512) ?? null
            })
            .returning(['id']);

        const current: CurrentUser = toCurrentUser({ ...user, role: settings.adminEmails.includes(user.email) ? 'admin' : user.role });
        return { sessionId: session.id as string, user: current };
    });
};


// Checked on every request, so logging out or suspending a user or tenant takes effect at once

export const sessionCredentials = async (db: Db, sessionId: string, userId: string, clock: Clock): Promise<Credentials | null> => {

    const row = await withTenant(db)
        .join('sessions as s', 's.user_id', 'u.id')
        .where({ 's.id': sessionId, 'u.id': userId, 'u.status': 'active', 't.status': 'active' })
        .whereNull('s.revoked_at')
        .where('s.expires_at', '>', clock.now())
        .first(userColumns);

    if (!row) {
        return null;
    }

    return { ...toCurrentUser(row), kind: 'session', session_id: sessionId, scope: [row.role] };
};


export const revokeSession = async (db: Db, sessionId: string, clock: Clock) => {

    await db('sessions').where({ id: sessionId }).whereNull('revoked_at').update({ revoked_at: clock.now() });
};


// ADMIN_EMAILS also promotes users who registered before the setting named them

export const promoteAdmins = async (db: Db, adminEmails: readonly string[]) => {

    if (!adminEmails.length) {
        return 0;
    }

    return await db('user_profiles').whereIn('email', adminEmails).whereNot({ role: 'admin' }).update({ role: 'admin' });
};
