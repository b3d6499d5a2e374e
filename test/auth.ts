import Crypto from 'crypto';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';
import Joi from 'joi';

import type { TalkyPlugin } from '../core/plugin';
import { callerOf, optionalAuth, requireAdmin, scoped, tenantIdFor } from '../core/tenancy';
import { startSmtp } from './fakes/smtp';
import { startServer, waitFor, type Harness } from './lib/harness';
import { linkToken, messagesTo } from './lib/mail';
import { closedPort } from './lib/proxy';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


// A clock the tests move; the server reads it for link and session expiry

const clock = { offset: 0, now: () => new Date(Date.now() + clock.offset) };


// Routes only the tests need, to exercise the route options other plugins use

const probes: TalkyPlugin = {
    name: 'auth-probes',
    dependencies: ['auth'],
    register(server) {

        const any = Joi.object().unknown();
        server.route([
            {
                method: 'GET',
                path: '/probe/admin',
                options: { auth: requireAdmin, description: 'Admins only', tags: ['api'], response: { schema: any }, handler: () => ({ ok: true }) }
            },
            {
                method: 'GET',
                path: '/probe/optional',
                options: {
                    auth: optionalAuth,
                    description: 'Anyone',
                    tags: ['api'],
                    response: { schema: any },
                    handler: (request) => ({ signed_in: request.auth.isAuthenticated, tenant_id: request.auth.credentials ? callerOf(request.auth.credentials).tenant_id : null })
                }
            },
            {
                method: 'GET',
                path: '/probe/tenant',
                options: {
                    description: 'Which tenant a request acts for',
                    tags: ['api'],
                    validate: { query: Joi.object({ tenant_id: Joi.string().guid() }) },
                    response: { schema: any },
                    handler: (request) => ({ tenant_id: tenantIdFor(request.auth.credentials, request.query.tenant_id as string | undefined) })
                }
            }
        ]);
    }
};


const counter = { n: 0 };
const uniqueEmail = (label = 'user') => `${label}.${process.pid}.${++counter.n}@example.com`;


describe('auth', () => {

    let harness: Harness;
    let server: Server;
    let mailDir: string;

    before(async () => {

        harness = await startServer({ adminEmails: ['boss@example.com'] }, { plugins: [probes], clock });
        server = harness.server;
        mailDir = harness.config.mailDir;
    });

    after(() => harness.cleanup());

    const post = (url: string, payload?: object, headers: Record<string, string> = {}) => server.inject({ method: 'POST', url, payload, headers });
    const get = (url: string, token?: string) => server.inject({ url, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    const register = async (email = uniqueEmail(), plan = 'basic') => {

        const res = await post('/api/v1/auth/register', { email, business_name: 'Acme Corp', plan_id: plan, name: 'John Doe' });
        expect(res.statusCode, res.payload).to.equal(201);
        return { email, body: res.result as Record<string, any> };
    };

    const nextLink = async (email: string, count: number) => {

        const messages = await waitFor(() => {

            const found = messagesTo(mailDir, email);
            return found.length >= count ? found : null;
        });

        return linkToken(messages![count - 1]!);
    };

    const signIn = async (email?: string) => {

        const registered = await register(email);
        const token = await nextLink(registered.email, 1);
        const res = await post('/api/v1/auth/verify', { token });
        expect(res.statusCode, res.payload).to.equal(200);
        const session = res.result as { access_token: string; user: Record<string, any> };
        return { ...registered, accessToken: session.access_token, user: session.user };
    };

    describe('plans', () => {

        it('lists the seeded plans, publicly', async () => {

            const res = await get('/api/v1/plans/');
            expect(res.statusCode).to.equal(200);
            const plans = res.result as Array<Record<string, unknown>>;
            expect(plans.map((plan) => plan.id)).to.equal(['basic', 'pro', 'enterprise']);
            expect(plans[0]).to.include({ id: 'basic', minutes: 100, max_concurrent_calls: 2, price: 29, currency: 'USD' });
            expect(plans[0]!.features).to.be.an.array();
        });

        it('gets one plan, and 404s an unknown one', async () => {

            const pro = await get('/api/v1/plans/pro');
            expect(pro.statusCode).to.equal(200);
            expect(pro.result).to.include({ id: 'pro', minutes: 1000 });

            const missing = await get('/api/v1/plans/platinum');
            expect(missing.statusCode).to.equal(404);
            expect(missing.result).to.equal({ detail: 'No plan platinum' });

            const bad = await get('/api/v1/plans/Not%20A%20Plan');
            expect(bad.statusCode).to.equal(400);
        });
    });

    describe('register', () => {

        it('creates the tenant with the plan\'s minutes and the user as owner, and mails a link', async () => {

            const { email, body } = await register(undefined, 'pro');
            expect(body).to.equal({
                id: body.id,
                email,
                business_name: 'Acme Corp',
                role: 'owner',
                minutes_remaining: 1000,
                message: 'Magic link sent to your email. Please check your inbox.'
            });

            const tenant = await harness.server.plugins.core.db('tenants').where({ id: body.id }).first();
            expect(tenant).to.include({ business_name: 'Acme Corp', plan_id: 'pro', minutes_remaining: 1000, status: 'active' });

            const message = (await waitFor(() => messagesTo(mailDir, email)[0]))!;
            expect(message).to.contain('Subject: Welcome to Talky: confirm your email');
            expect(message).to.contain(`${harness.config.appUrl}/auth/callback?token=`);
        });

        it('normalises the email and refuses it twice with 409', async () => {

            const email = uniqueEmail('Mixed.Case');
            await register(email);
            const again = await post('/api/v1/auth/register', { email: `  ${email.toUpperCase()} `, business_name: 'Other', plan_id: 'basic' });
            expect(again.statusCode).to.equal(409);
            expect(again.result).to.equal({ detail: 'That email is already registered; sign in instead' });
        });

        it('refuses an unknown plan with 400 and creates nothing', async () => {

            const { db } = harness.server.plugins.core;
            const initial = await db('tenants').count('* as n').first();
            const res = await post('/api/v1/auth/register', { email: uniqueEmail(), business_name: 'Acme', plan_id: 'platinum' });
            expect(res.statusCode).to.equal(400);
            expect(res.result).to.equal({ detail: 'Unknown plan platinum' });
            expect(await db('tenants').count('* as n').first()).to.equal(initial);
        });

        it('refuses bad input with 400 naming the field, and creates nothing', async () => {

            const { db } = harness.server.plugins.core;
            const initial = await db('tenants').count('* as n').first();
            const cases: Array<[object | undefined, string]> = [
                [{ email: 'not-an-email', business_name: 'A', plan_id: 'basic' }, '"email" must be a valid email'],
                [{ email: uniqueEmail(), business_name: 'A'.repeat(201), plan_id: 'basic' }, '"business_name" length must be less than or equal to 200 characters long'],
                [{ email: uniqueEmail(), business_name: 'A', plan_id: 'basic', role: 'admin' }, '"role" is not allowed'],
                [{ email: uniqueEmail(), plan_id: 'basic' }, '"business_name" is required'],
                [undefined, 'The request body must be of type object']
            ];

            for (const [payload, detail] of cases) {
                const res = await post('/api/v1/auth/register', payload);
                expect(res.statusCode).to.equal(400);
                expect(res.result).to.equal({ detail });
            }

            expect(await db('tenants').count('* as n').first()).to.equal(initial);
        });

        it('lets exactly one of two concurrent registrations of one email succeed', async () => {

            const email = uniqueEmail('race');
            const payload = { email, business_name: 'Race', plan_id: 'basic' };
            const results = await Promise.all([1, 2, 3, 4].map(() => post('/api/v1/auth/register', payload)));
            expect(results.map((res) => res.statusCode).sort()).to.equal([201, 409, 409, 409]);

            const { db } = harness.server.plugins.core;
            expect(await db('tenants').where({ business_name: 'Race' }).count('* as n').first()).to.equal({ n: 1 });
        });
    });

    describe('magic links', () => {

        it('exchange a link for a session and the current user', async () => {

            const { email, body } = await register();
            const token = await nextLink(email, 1);
            const res = await post('/api/v1/auth/verify', { token });
            expect(res.statusCode).to.equal(200);

            const session = res.result as Record<string, any>;
            expect(session.token_type).to.equal('bearer');
            expect(session.expires_in).to.equal(harness.config.sessionTtlSeconds);
            expect(session.user).to.equal({
                id: session.user.id,
                email,
                name: 'John Doe',
                business_name: 'Acme Corp',
                tenant_id: body.id,
                role: 'owner',
                minutes_remaining: 100
            });

            const me = await get('/api/v1/auth/me', session.access_token);
            expect(me.statusCode).to.equal(200);
            expect(me.result).to.equal(session.user);
        });

        it('store only the hash of the token', async () => {

            const { email } = await register();
            const token = await nextLink(email, 1);
            const rows = await harness.server.plugins.core.db('magic_links').select('token_hash');
            expect(rows.map((row) => row.token_hash)).to.include(Crypto.createHash('sha256').update(token).digest('hex'));
            expect(JSON.stringify(rows)).to.not.contain(token);
            expect(Buffer.from(token, 'base64url')).to.have.length(32);
        });

        it('work once', async () => {

            const { email } = await register();
            const token = await nextLink(email, 1);
            const results = await Promise.all([1, 2, 3].map(() => post('/api/v1/auth/verify', { token })));
            expect(results.map((res) => res.statusCode).sort()).to.equal([200, 401, 401]);

            const again = await post('/api/v1/auth/verify', { token });
            expect(again.statusCode).to.equal(401);
            expect(again.result).to.equal({ detail: 'This sign-in link is invalid, used or expired; ask for a new one' });
        });

        it('expire after the configured minutes', async () => {

            const { email } = await register();
            const token = await nextLink(email, 1);
            clock.offset = (harness.config.magicLinkTtlMinutes * 60 + 1) * 1000;
            try {
                expect((await post('/api/v1/auth/verify', { token })).statusCode).to.equal(401);
            }
            finally {
                clock.offset = 0;
            }
        });

        it('are cancelled by a newer link, and a newer link does not revive a used one', async () => {

            const { email } = await signIn();
            const used = await nextLink(email, 1);

            await post('/api/v1/auth/login', { email });
            const older = await nextLink(email, 2);
            await post('/api/v1/auth/login', { email });
            const newer = await nextLink(email, 3);

            expect((await post('/api/v1/auth/verify', { token: older })).statusCode).to.equal(401);
            expect((await post('/api/v1/auth/verify', { token: used })).statusCode).to.equal(401);
            expect((await post('/api/v1/auth/verify', { token: newer })).statusCode).to.equal(200);
        });

        it('refuse unknown tokens', async () => {

            expect((await post('/api/v1/auth/verify', { token: 'x'.repeat(43) })).statusCode).to.equal(401);
            expect((await post('/api/v1/auth/verify', {})).statusCode).to.equal(400);
        });

        it('opened on the API redirect to the frontend', async () => {

            const res = await get('/api/v1/auth/verify?token=abc_DEF-123');
            expect(res.statusCode).to.equal(302);
            expect(res.headers.location).to.equal(`${harness.config.appUrl}/auth/callback?token=abc_DEF-123`);
        });
    });

    describe('login', () => {

        it('answers the same whether or not the email is registered, and mails only a known one', async () => {

            const { email } = await register();
            const stranger = uniqueEmail('stranger');

            const known = await post('/api/v1/auth/login', { email });
            const unknown = await post('/api/v1/auth/login', { email: stranger });
            expect(known.statusCode).to.equal(200);
            expect(unknown.statusCode).to.equal(200);
            expect(known.payload).to.equal(unknown.payload);
            expect(known.result).to.equal({ message: 'If that email is registered, a magic link is on its way. Please check your inbox.' });

            // The welcome mail and the sign-in mail go through the queue and may land in either order

            await nextLink(email, 2);
            const subjects = messagesTo(mailDir, email).map((message) => /^Subject: (.*)$/m.exec(message)![1]);
            expect(subjects.sort()).to.equal(['Welcome to Talky: confirm your email', 'Your Talky sign-in link']);

            await new Promise((resolve) => setTimeout(resolve, 200));
            expect(messagesTo(mailDir, stranger)).to.have.length(0);
        });
    });

    describe('sessions', () => {

        it('end at logout: the same access token then answers 401', async () => {

            const { accessToken } = await signIn();
            const out = await server.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(accessToken) });
            expect(out.statusCode).to.equal(200);
            expect(out.result).to.equal({ message: 'Logged out' });

            const me = await get('/api/v1/auth/me', accessToken);
            expect(me.statusCode).to.equal(401);
            expect(me.result).to.equal({ detail: 'Invalid credentials' });
        });

        it('end at once when the user or the tenant is suspended', async () => {

            const { db } = harness.server.plugins.core;
            const first = await signIn();
            await db('user_profiles').where({ id: first.user.id }).update({ status: 'suspended' });
            expect((await get('/api/v1/auth/me', first.accessToken)).statusCode).to.equal(401);

            const second = await signIn();
            await db('tenants').where({ id: second.user.tenant_id }).update({ status: 'suspended' });
            expect((await get('/api/v1/auth/me', second.accessToken)).statusCode).to.equal(401);

            // A suspended user's link does not open a new session either

            await db('user_profiles').where({ id: second.user.id }).update({ status: 'active' });
            await post('/api/v1/auth/login', { email: second.email });
            const token = await nextLink(second.email, 2);
            const res = await post('/api/v1/auth/verify', { token });
            expect(res.statusCode).to.equal(403);
            expect(res.result).to.equal({ detail: 'This account is suspended' });
        });

        it('expire with their time to live', async () => {

            const { accessToken } = await signIn();
            clock.offset = (harness.config.sessionTtlSeconds + 1) * 1000;
            try {
                expect((await get('/api/v1/auth/me', accessToken)).statusCode).to.equal(401);
            }
            finally {
                clock.offset = 0;
            }

            expect((await get('/api/v1/auth/me', accessToken)).statusCode).to.equal(200);
        });

        it('refuse a token signed with another secret, or none at all', async () => {

            const missing = await get('/api/v1/auth/me');
            expect(missing.statusCode).to.equal(401);
            expect(missing.result).to.equal({ detail: 'Missing authentication' });

            const { accessToken } = await signIn();
            const [header, payload] = accessToken.split('.');
            const forged = `${header}.${payload}.${Crypto.createHmac('sha256', 'another-secret-another-secret-000').update(`${header}.${payload}`).digest('base64url')}`;
            expect((await get('/api/v1/auth/me', forged)).statusCode).to.equal(401);
            expect((await get('/api/v1/auth/me', 'garbage')).statusCode).to.equal(401);
        });

        it('keep create-profile idempotent', async () => {

            const { accessToken, user } = await signIn();
            for (let i = 0; i < 2; ++i) {
                const res = await server.inject({ method: 'POST', url: '/api/v1/auth/create-profile', headers: bearer(accessToken) });
                expect(res.statusCode).to.equal(200);
                expect(res.result).to.equal(user);
            }

            expect(await harness.server.plugins.core.db('user_profiles').where({ email: user.email }).count('* as n').first()).to.equal({ n: 1 });
        });
    });

    describe('roles', () => {

        it('keep admin routes to admins', async () => {

            const owner = await signIn();
            const refused = await get('/api/v1/probe/admin', owner.accessToken);
            expect(refused.statusCode).to.equal(403);
            expect(refused.result).to.equal({ detail: 'Your role does not allow this' });

            const admin = await signIn('boss@example.com');
            expect(admin.user.role).to.equal('admin');
            expect((await get('/api/v1/probe/admin', admin.accessToken)).statusCode).to.equal(200);
        });

        it('let optional-auth routes see the caller when there is one', async () => {

            expect((await get('/api/v1/probe/optional')).result).to.equal({ signed_in: false, tenant_id: null });
            const { accessToken, user } = await signIn();
            expect((await get('/api/v1/probe/optional', accessToken)).result).to.equal({ signed_in: true, tenant_id: user.tenant_id });
        });

        it('take the tenant from the credentials, and another tenant only for admins', async () => {

            const owner = await signIn();
            const other = await signIn();
            expect((await get('/api/v1/probe/tenant', owner.accessToken)).result).to.equal({ tenant_id: owner.user.tenant_id });

            const refused = await get(`/api/v1/probe/tenant?tenant_id=${other.user.tenant_id}`, owner.accessToken);
            expect(refused.statusCode).to.equal(403);
            expect(refused.result).to.equal({ detail: 'Only an admin may act for another tenant' });

            const admin = await harness.server.plugins.core.db('user_profiles').where({ email: 'boss@example.com' }).first();
            const adminSession = await post('/api/v1/auth/login', { email: 'boss@example.com' });
            expect(adminSession.statusCode).to.equal(200);
            const token = await nextLink('boss@example.com', 2);
            const verified = (await post('/api/v1/auth/verify', { token })).result as { access_token: string };
            expect(admin.role).to.equal('admin');
            expect((await get(`/api/v1/probe/tenant?tenant_id=${other.user.tenant_id}`, verified.access_token)).result).to.equal({ tenant_id: other.user.tenant_id });
        });

        it('scope queries to the tenant', async () => {

            const { db } = harness.server.plugins.core;
            const one = await signIn();
            await signIn();
            const rows = await scoped(db, one.user.tenant_id)('user_profiles').select('email');
            expect(rows).to.equal([{ email: one.email }]);
            expect(() => callerOf(null)).to.throw('Sign in first');
        });
    });

    describe('API keys', () => {

        it('are created by owners, listed by prefix, and authenticate as the tenant', async () => {

            const owner = await signIn();
            const created = await server.inject({ method: 'POST', url: '/api/v1/auth/api-keys', payload: { name: 'CRM sync' }, headers: bearer(owner.accessToken) });
            expect(created.statusCode).to.equal(201);
            const key = created.result as Record<string, any>;
            expect(key.key).to.match(/^tk_[A-Za-z0-9_-]{43}$/);
            expect(key.prefix).to.equal(key.key.slice(0, 11));

            const listed = await get('/api/v1/auth/api-keys', owner.accessToken);
            expect(listed.statusCode).to.equal(200);
            const keys = (listed.result as { api_keys: Array<Record<string, unknown>> }).api_keys;
            expect(keys).to.have.length(1);
            expect(keys[0]).to.include({ id: key.id, name: 'CRM sync', prefix: key.prefix });
            expect(keys[0]!.key).to.not.exist();
            expect(listed.payload).to.not.contain(key.key);

            const stored = await harness.server.plugins.core.db('api_keys').where({ id: key.id }).first();
            expect(stored.key_hash).to.equal(Crypto.createHash('sha256').update(key.key).digest('hex'));

            const me = await get('/api/v1/auth/me', key.key);
            expect(me.statusCode).to.equal(200);
            expect(me.result).to.include({ tenant_id: owner.user.tenant_id, role: 'user', email: null, id: null, name: 'CRM sync' });

            // A key can do what a user can, not manage keys or log out

            expect((await get('/api/v1/auth/api-keys', key.key)).statusCode).to.equal(403);
            const logout = await server.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(key.key) });
            expect(logout.statusCode).to.equal(400);

            const revoked = await server.inject({ method: 'DELETE', url: `/api/v1/auth/api-keys/${key.id}`, headers: bearer(owner.accessToken) });
            expect(revoked.statusCode).to.equal(204);
            const revokedUse = await get('/api/v1/auth/me', key.key);
            expect(revokedUse.statusCode).to.equal(401);
            expect(revokedUse.result).to.equal({ detail: 'Invalid or revoked API key' });
        });

        it('refuse unknown and malformed keys', async () => {

            expect((await get('/api/v1/auth/me', `tk_${'a'.repeat(43)}`)).statusCode).to.equal(401);
            expect((await get('/api/v1/auth/me', 'tk_short')).statusCode).to.equal(401);
        });

        it('of another tenant are not found', async () => {

            const one = await signIn();
            const other = await signIn();
            const created = await server.inject({ method: 'POST', url: '/api/v1/auth/api-keys', payload: { name: 'mine' }, headers: bearer(one.accessToken) });
            const id = (created.result as { id: string }).id;

            const res = await server.inject({ method: 'DELETE', url: `/api/v1/auth/api-keys/${id}`, headers: bearer(other.accessToken) });
            expect(res.statusCode).to.equal(404);
            expect(res.result).to.equal({ detail: 'No such API key' });
            expect(((await get('/api/v1/auth/api-keys', other.accessToken)).result as { api_keys: unknown[] }).api_keys).to.equal([]);
        });
    });

    describe('tenant settings', () => {

        const patch = (payload: unknown, token: string) => server.inject({ method: 'PATCH', url: '/api/v1/tenants/me/settings', payload: payload as object, headers: bearer(token) });

        it('show every enabled plugin\'s settings with their defaults', async () => {

            const owner = await signIn();
            const res = await get('/api/v1/tenants/me/settings', owner.accessToken);
            expect(res.statusCode, res.payload).to.equal(200);
            expect(res.result).to.equal({
                business_name: 'Acme Corp',
                disclosure_mode: 'add',
                timezone: 'UTC',
                recording_retention_days: null,
                transcript_retention_days: null
            });
        });

        it('are changed by the owner, one or several at once, for the owner\'s tenant only', async () => {

            const owner = await signIn();
            const other = await signIn();

            const changed = await patch({ disclosure_mode: 'refuse', timezone: 'America/New_York', business_name: '  Acme Holdings ' }, owner.accessToken);
            expect(changed.statusCode, changed.payload).to.equal(200);
            expect(changed.result).to.include({ disclosure_mode: 'refuse', timezone: 'America/New_York', business_name: 'Acme Holdings', recording_retention_days: null });
            expect((await get('/api/v1/tenants/me/settings', owner.accessToken)).result).to.equal(changed.result);

            const again = await patch({ recording_retention_days: 30 }, owner.accessToken);
            expect(again.result).to.include({ recording_retention_days: 30, disclosure_mode: 'refuse' });

            expect((await get('/api/v1/tenants/me/settings', other.accessToken)).result).to.include({ business_name: 'Acme Corp', disclosure_mode: 'add', timezone: 'UTC', recording_retention_days: null });

            // The analytics count in the tenant's zone from now on

            const analytics = await get('/api/v1/analytics/calls', owner.accessToken);
            expect((analytics.result as { timezone: string }).timezone).to.equal('America/New_York');
        });

        it('refuse bad values, unknown names and an empty change with a 400 and change nothing', async () => {

            const owner = await signIn();
            const bad = [
                [{ disclosure_mode: 'ignore' }, '"disclosure_mode" must be one of [add, refuse]'],
                [{ timezone: 'Mars/Olympus' }, '"timezone" must be an IANA time zone such as America/New_York'],
                [{ business_name: '' }, '"business_name" is not allowed to be empty'],
                [{ plan_id: 'enterprise' }, '"plan_id" is not allowed'],
                [{ minutes_remaining: 100000 }, '"minutes_remaining" is not allowed'],
                [{}, 'Name at least one setting to change']
            ] as const;

            for (const [payload, detail] of bad) {
                const res = await patch(payload, owner.accessToken);
                expect(res.statusCode, JSON.stringify(payload)).to.equal(400);
                expect(res.result).to.equal({ detail });
            }

            expect((await get('/api/v1/tenants/me/settings', owner.accessToken)).result).to.include({ disclosure_mode: 'add', timezone: 'UTC', business_name: 'Acme Corp' });
        });

        it('are read by every member, and changed by owners only', async () => {

            const owner = await signIn();
            const created = await post('/api/v1/auth/api-keys', { name: 'Reader' }, bearer(owner.accessToken));
            const key = (created.result as { key: string }).key;

            expect((await get('/api/v1/tenants/me/settings', key)).statusCode).to.equal(200);
            const refused = await patch({ disclosure_mode: 'refuse' }, key);
            expect(refused.statusCode).to.equal(403);
            expect((await get('/api/v1/tenants/me/settings', key)).result).to.include({ disclosure_mode: 'add' });
            expect((await get('/api/v1/tenants/me/settings')).statusCode).to.equal(401);
        });
    });

    describe('first admin', () => {

        it('is made from ADMIN_EMAILS at start for an already registered user', async () => {

            const email = uniqueEmail('later-admin');
            await register(email);
            const { db } = harness.server.plugins.core;
            expect((await db('user_profiles').where({ email }).first()).role).to.equal('owner');

            const second = await startServer({ adminEmails: [email], databaseUrl: harness.config.databaseUrl, redisPrefix: harness.config.redisPrefix });
            await second.server.start();
            expect((await db('user_profiles').where({ email }).first()).role).to.equal('admin');
            await second.server.stop();
        });
    });
});


describe('auth rate limits', () => {

    let harness: Harness;

    before(async () => {

        harness = await startServer({ authRateLimitPerEmail: 2, authRateLimitPerIp: 4, authRateLimitWindowSeconds: 60 });
    });

    after(() => harness.cleanup());

    const login = (email: string, remoteAddress = '10.0.0.1') => harness.server.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email }, remoteAddress });

    it('answer 429 with Retry-After past the limit per email', async () => {

        expect((await login('limited@example.com')).statusCode).to.equal(200);
        expect((await login('limited@example.com')).statusCode).to.equal(200);
        const res = await login('limited@example.com');
        expect(res.statusCode).to.equal(429);
        expect(Number(res.headers['retry-after'])).to.be.within(1, 60);
        expect((res.result as { detail: string }).detail).to.match(/^Too many attempts; try again in \d+ seconds$/);
    });

    it('count per client address too, across instances sharing Redis', async () => {

        const other = await startServer({
            authRateLimitPerEmail: 100,
            authRateLimitPerIp: 4,
            databaseUrl: harness.config.databaseUrl,
            redisPrefix: harness.config.redisPrefix
        });

        const results = [];
        for (const [i, server] of [harness.server, other.server, harness.server, other.server, harness.server].entries()) {
            results.push((await server.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: `ip${i}@example.com` }, remoteAddress: '10.0.0.2' })).statusCode);
        }

        expect(results).to.equal([200, 200, 200, 200, 429]);
        expect((await login('fresh@example.com', '10.0.0.3')).statusCode).to.equal(200);
        await other.server.stop();
    });

    it('cover verify', async () => {

        const results = [];
        for (let i = 0; i < 5; ++i) {
            results.push((await harness.server.inject({ method: 'POST', url: '/api/v1/auth/verify', payload: { token: 'x' }, remoteAddress: '10.0.0.4' })).statusCode);
        }

        expect(results).to.equal([401, 401, 401, 401, 429]);
    });
});


describe('auth mail', () => {

    it('goes through a real SMTP server with MAIL_TRANSPORT=smtp', async () => {

        const smtp = await startSmtp();
        const harness = await startServer({ mailTransport: 'smtp', smtpUrl: `smtp://127.0.0.1:${smtp.port}`, mailFrom: 'Talky <talky@example.com>' });
        try {
            const register = await harness.server.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: 'smtp-user@example.com', business_name: 'Mailers', plan_id: 'basic' } });
            expect(register.statusCode).to.equal(201);

            const received = await waitFor(() => smtp.received[0]);
            expect(received.from).to.equal('talky@example.com');
            expect(received.to).to.equal(['smtp-user@example.com']);

            const verified = await harness.server.inject({ method: 'POST', url: '/api/v1/auth/verify', payload: { token: linkToken(received.raw) } });
            expect(verified.statusCode).to.equal(200);
        }
        finally {
            await harness.cleanup();
            await smtp.close();
        }
    });

    it('is sent directly when the queue\'s Redis is down', async () => {

        const harness = await startServer({ redisUrl: `redis://127.0.0.1:${await closedPort()}` });
        try {
            const register = await harness.server.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: 'no-redis@example.com', business_name: 'Offline', plan_id: 'basic' } });
            expect(register.statusCode).to.equal(201);
            const message = await waitFor(() => messagesTo(harness.config.mailDir, 'no-redis@example.com')[0]);
            expect(linkToken(message)).to.have.length(43);
        }
        finally {
            await harness.cleanup();
        }
    });
});
