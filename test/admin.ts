import Crypto from 'crypto';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';
import BeeQueue from 'bee-queue';

import { liveChannel } from '../core/live';
import * as Stats from '../plugins/admin/stats';
import * as Users from '../plugins/admin/users';
import * as Keys from '../plugins/auth/keys';
import * as Auth from '../plugins/auth/service';
import { signAccessToken } from '../plugins/auth/strategy';
import { tenantsKey } from '../plugins/dialer/enqueue';
import { startServer, waitFor, type Harness } from './lib/harness';
import { closedPort } from './lib/proxy';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const rootEmail = `root.${process.pid}@example.com`;
const deputyEmail = `deputy.${process.pid}@example.com`;

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const counter = { n: 0 };


// Every admin route the plugin is meant to have; the route table must hold at least these

const adminRoutes = [
    'GET /api/v1/admin/tenants',
    'GET /api/v1/admin/tenants/{tenant_id}',
    'PATCH /api/v1/admin/tenants/{tenant_id}/plan',
    'POST /api/v1/admin/tenants/{tenant_id}/minutes',
    'POST /api/v1/admin/tenants/{tenant_id}/suspend',
    'POST /api/v1/admin/tenants/{tenant_id}/reactivate',
    'GET /api/v1/admin/users',
    'PATCH /api/v1/admin/users/{user_id}/role',
    'GET /api/v1/admin/stats',
    'GET /api/v1/admin/queues',
    'POST /api/v1/admin/queues/{name}/retry',
    'GET /api/v1/admin/audit'
];


describe('admin', () => {

    let harness: Harness;
    let server: Server;
    let admin: Awaited<ReturnType<typeof signUp>>;

    // An api process: no queue consumers of its own, so the queue tests own the only worker

    before(async () => {

        harness = await startServer({ adminEmails: [rootEmail, deputyEmail], role: 'api' });
        server = harness.server;
        admin = await signUp(server, { email: rootEmail });
    });

    after(() => harness.cleanup());

    const db = () => server.plugins.core.db;

    const call = (method: string, url: string, payload?: object, headers: Record<string, string> = admin.headers) => server.inject({ method, url, payload, headers });

    // A user of a tenant with a session of their own

    const member = async (tenantId: string, role = 'user') => {

        const { config, clock } = server.plugins.core;
        const settings = { clock, adminEmails: config.adminEmails, magicLinkTtlMinutes: config.magicLinkTtlMinutes, sessionTtlSeconds: config.sessionTtlSeconds };
        const email = `member.${process.pid}.${++counter.n}@example.com`;
        const [user] = await db()('user_profiles').insert({ tenant_id: tenantId, email, role }).returning('id');
        const { sessionId } = await Auth.verify(db(), await Auth.issueLink(db(), user.id, settings), {}, settings);
        return { id: user.id as string, email, headers: bearer(signAccessToken(config, clock, sessionId, user.id)) };
    };

    const apiKey = async (tenantId: string) => bearer((await Keys.create(db(), tenantId, null, 'servers')).key);

    const campaign = async (tenantId: string, status: string, extra: Record<string, unknown> = {}) => {

        const [row] = await db()('campaigns').insert({ tenant_id: tenantId, name: `${status} campaign`, status, max_concurrent_calls: 2, ...extra }).returning('id');
        return row.id as string;
    };

    const addCall = async (tenantId: string, campaignId: string, fields: Record<string, unknown>) => {

        const phone = `+1212555${String(++counter.n).padStart(4, '0')}`;
        const [lead] = await db()('leads').insert({ tenant_id: tenantId, campaign_id: campaignId, phone_number: phone }).returning('id');
        const [job] = await db()('dialer_jobs').insert({ tenant_id: tenantId, campaign_id: campaignId, lead_id: lead.id, status: 'completed', attempt: 1 }).returning('id');
        await db()('calls').insert({
            id: Crypto.randomUUID(), tenant_id: tenantId, campaign_id: campaignId, lead_id: lead.id, job_id: job.id,
            attempt: 1, provider: 'simulator', to_number: phone, status: 'completed', ...fields
        });
    };

    const auditOf = (targetId: string) => db()('admin_audit').where({ target_id: targetId }).orderBy('id').select('admin_id', 'admin_email', 'action', 'target_type', 'details');


    describe('access', () => {

        it('refuses every admin route to an owner, a plain user and an API key, and asks for sign-in without credentials', async () => {

            const routes = server.table().filter((route) => route.path.startsWith('/api/v1/admin'));
            expect(routes.map((route) => `${route.method.toUpperCase()} ${route.path}`)).to.include(adminRoutes);

            const owner = await signUp(server);
            const callers = { owner: owner.headers, user: (await member(owner.tenantId)).headers, 'API key': await apiKey(owner.tenantId) };

            for (const route of routes) {
                const url = route.path.replace(/\{(\w+)\}/g, (_, name) => (name.endsWith('_id') ? Crypto.randomUUID() : 'some-queue'));
                const label = `${route.method.toUpperCase()} ${route.path}`;
                expect(route.settings.tags, label).to.include(['api', 'admin']);
                expect(route.settings.response?.schema ?? route.settings.response?.status, label).to.exist();

                for (const [who, headers] of Object.entries(callers)) {
                    const refused = await server.inject({ method: route.method, url, headers });
                    expect(refused.statusCode, `${who}: ${label}`).to.equal(403);
                    expect(refused.result, `${who}: ${label}`).to.equal({ detail: 'Your role does not allow this' });
                }

                expect((await server.inject({ method: route.method, url })).statusCode, label).to.equal(401);

                // The admin gets past authentication, so the refusals above were about the role

                const allowed = await server.inject({ method: route.method, url, headers: admin.headers });
                expect([401, 403], label).to.not.include(allowed.statusCode);
            }
        });
    });


    describe('tenants', () => {

        it('lists tenants newest first, found by business name or a user\'s email, filtered by status', async () => {

            const word = Crypto.randomBytes(4).toString('hex');
            const [acme, globex, initech] = [await signUp(server), await signUp(server), await signUp(server)];
            await db()('tenants').where({ id: acme.tenantId }).update({ business_name: `Acme ${word}` });
            await db()('tenants').where({ id: globex.tenantId }).update({ business_name: `Globex ${word}` });
            await db()('tenants').where({ id: initech.tenantId }).update({ business_name: `Initech ${word}`, status: 'suspended' });
            const staff = await member(globex.tenantId);

            const ids = async (query: string) => {

                const res = await call('GET', `/api/v1/admin/tenants?${query}`);
                expect(res.statusCode, res.payload).to.equal(200);
                const body = res.result as { items: Array<{ id: string }>; total: number; page: number; page_size: number };
                return { ids: body.items.map((item) => item.id), total: body.total, page: body.page };
            };

            expect(await ids(`search=${word}`)).to.equal({ ids: [initech.tenantId, globex.tenantId, acme.tenantId], total: 3, page: 1 });
            expect(await ids(`search=GLOBEX%20${word}`)).to.equal({ ids: [globex.tenantId], total: 1, page: 1 });
            expect(await ids(`search=${encodeURIComponent(staff.email.toUpperCase())}`)).to.equal({ ids: [globex.tenantId], total: 1, page: 1 });
            expect(await ids(`search=${word}&status=suspended`)).to.equal({ ids: [initech.tenantId], total: 1, page: 1 });
            expect(await ids(`search=${word}&status=active`)).to.equal({ ids: [globex.tenantId, acme.tenantId], total: 2, page: 1 });
            expect(await ids(`search=${word}&page_size=2&page=2`)).to.equal({ ids: [acme.tenantId], total: 3, page: 2 });
            expect(await ids('search=%25')).to.equal({ ids: [], total: 0, page: 1 });            // a literal %, not a wildcard

            const item = ((await call('GET', `/api/v1/admin/tenants?search=${word}&status=active`)).result as { items: Array<Record<string, unknown>> }).items[1];
            expect(item).to.include({ id: acme.tenantId, business_name: `Acme ${word}`, plan_id: 'pro', minutes_remaining: 1000, status: 'active' });

            const bad = await call('GET', '/api/v1/admin/tenants?status=closed');
            expect(bad.statusCode).to.equal(400);
            expect(bad.result).to.equal({ detail: '"status" must be one of [active, suspended]' });
        });

        it('shows a tenant with its plan, minutes, status and counts', async () => {

            const owner = await signUp(server, { plan: 'basic' });
            await member(owner.tenantId);
            await member(owner.tenantId, 'owner');
            const running = await campaign(owner.tenantId, 'running');
            await campaign(owner.tenantId, 'draft');
            await campaign(owner.tenantId, 'running', { deleted_at: new Date() });
            for (const minutes of [1, 2, 4]) {
                await addCall(owner.tenantId, running, { billed_minutes: minutes });
            }

            await addCall(admin.tenantId, await campaign(admin.tenantId, 'stopped'), { billed_minutes: 50 });          // another tenant's

            const res = await call('GET', `/api/v1/admin/tenants/${owner.tenantId}`);
            expect(res.statusCode, res.payload).to.equal(200);
            const tenant = res.result as Record<string, any>;
            expect(tenant).to.include({ id: owner.tenantId, plan_id: 'basic', minutes_remaining: 100, status: 'active', minutes_used: 7, suspension: null });
            expect(tenant.counts).to.equal({ users: 3, campaigns: 2, running_campaigns: 1, calls: 3 });
            expect(tenant.plan).to.include({ id: 'basic', name: 'Basic', minutes: 100, max_concurrent_calls: 2 });

            const missing = await call('GET', `/api/v1/admin/tenants/${Crypto.randomUUID()}`);
            expect(missing.statusCode).to.equal(404);
            expect(missing.result).to.equal({ detail: 'Tenant not found' });
            expect((await call('GET', '/api/v1/admin/tenants/not-a-uuid')).statusCode).to.equal(400);
        });

        it('moves a tenant to an offered plan only', async () => {

            const owner = await signUp(server, { plan: 'basic' });
            await db()('plans').insert({ id: 'legacy', name: 'Legacy', price: 9, minutes: 10, max_concurrent_calls: 1, is_active: false });
            const change = (planId: string, tenantId = owner.tenantId) => call('PATCH', `/api/v1/admin/tenants/${tenantId}/plan`, { plan_id: planId });

            const moved = await change('enterprise');
            expect(moved.statusCode, moved.payload).to.equal(200);
            expect(moved.result).to.include({ id: owner.tenantId, plan_id: 'enterprise', minutes_remaining: 100 });
            expect((moved.result as { plan: { id: string } }).plan.id).to.equal('enterprise');
            expect(await db()('tenants').where({ id: owner.tenantId }).first('plan_id', 'minutes_remaining')).to.equal({ plan_id: 'enterprise', minutes_remaining: 100 });

            const refusals: Array<[string, number, string]> = [
                ['platinum', 400, 'Unknown plan platinum'],
                ['legacy', 400, 'Plan legacy is no longer offered'],
                ['enterprise', 409, 'The tenant is already on plan enterprise']
            ];

            for (const [planId, code, detail] of refusals) {
                const res = await change(planId);
                expect(res.statusCode, planId).to.equal(code);
                expect(res.result, planId).to.equal({ detail });
            }

            expect((await change('Not A Plan')).statusCode).to.equal(400);
            expect((await call('PATCH', `/api/v1/admin/tenants/${owner.tenantId}/plan`, {})).result).to.equal({ detail: '"plan_id" is required' });
            expect((await change('pro', Crypto.randomUUID())).statusCode).to.equal(404);

            expect((await db()('tenants').where({ id: owner.tenantId }).first('plan_id')).plan_id).to.equal('enterprise');
            expect(await auditOf(owner.tenantId)).to.equal([{
                admin_id: admin.user.id, admin_email: rootEmail, action: 'tenant.change_plan', target_type: 'tenant', details: { from: 'basic', to: 'enterprise' }
            }]);
        });

        it('adds minutes, and adds none when the audit row cannot be written', async () => {

            const owner = await signUp(server, { plan: 'basic' });
            const add = (payload: object) => call('POST', `/api/v1/admin/tenants/${owner.tenantId}/minutes`, payload);
            const balance = async () => (await db()('tenants').where({ id: owner.tenantId }).first('minutes_remaining')).minutes_remaining;

            const added = await add({ minutes: 250, reason: 'Goodwill after an outage' });
            expect(added.statusCode, added.payload).to.equal(200);
            expect(added.result).to.equal({ tenant_id: owner.tenantId, minutes_added: 250, minutes_remaining: 350 });
            expect(await balance()).to.equal(350);

            expect((await add({ minutes: 5 })).result).to.include({ minutes_remaining: 355 });
            expect(await balance()).to.equal(355);

            for (const minutes of [0, -5, 1.5, 'ten']) {
                expect((await add({ minutes })).statusCode, String(minutes)).to.equal(400);
            }

            expect(await balance()).to.equal(355);
            expect(await auditOf(owner.tenantId)).to.equal([
                { admin_id: admin.user.id, admin_email: rootEmail, action: 'tenant.add_minutes', target_type: 'tenant', details: { minutes: 250, reason: 'Goodwill after an outage', minutes_remaining: 350 } },
                { admin_id: admin.user.id, admin_email: rootEmail, action: 'tenant.add_minutes', target_type: 'tenant', details: { minutes: 5, reason: null, minutes_remaining: 355 } }
            ]);

            // The change and its row share a transaction: a row refused takes the minutes back

            await db().raw(`ALTER TABLE admin_audit ADD CONSTRAINT test_refuse_minutes CHECK (action <> 'tenant.add_minutes') NOT VALID`);
            try {
                expect((await add({ minutes: 10 })).statusCode).to.equal(500);
            }
            finally {
                await db().raw('ALTER TABLE admin_audit DROP CONSTRAINT test_refuse_minutes');
            }

            expect(await balance()).to.equal(355);

            await db()('tenants').where({ id: owner.tenantId }).update({ minutes_remaining: 2_147_483_000 });
            const overflow = await add({ minutes: 1000 });
            expect(overflow.statusCode).to.equal(400);
            expect(overflow.result).to.equal({ detail: '"minutes" would take the balance past 2147483647' });
            expect(await balance()).to.equal(2_147_483_000);
            expect(await auditOf(owner.tenantId)).to.have.length(2);
        });

        it('suspends a tenant: its sessions and API keys stop at once and its running campaigns pause; reactivation lets them in again', async () => {

            const owner = await signUp(server);
            const staff = await member(owner.tenantId);
            const key = await apiKey(owner.tenantId);
            const running = await campaign(owner.tenantId, 'running');
            const draft = await campaign(owner.tenantId, 'draft');
            const stoppedByOwner = await campaign(owner.tenantId, 'paused');

            const other = await signUp(server);
            const otherKey = await apiKey(other.tenantId);
            const otherRunning = await campaign(other.tenantId, 'running');

            const statusFor = async (headers: Record<string, string>) => (await call('GET', '/api/v1/campaigns', undefined, headers)).statusCode;
            const campaigns = async (ids: string[]) => Object.fromEntries((await db()('campaigns').whereIn('id', ids).select('id', 'status', 'paused_reason')).map((row) => [row.id, [row.status, row.paused_reason]]));

            for (const headers of [owner.headers, staff.headers, key]) {
                expect(await statusFor(headers)).to.equal(200);
            }

            // Its live clients are told to go, through the live events of every instance

            const subscriber = server.plugins.core.redis.duplicate();
            const live: unknown[] = [];
            subscriber.on('message', (channel: string, message: string) => live.push(JSON.parse(message)));
            await subscriber.subscribe(liveChannel(server.plugins.core.config.redisPrefix));

            const suspended = await call('POST', `/api/v1/admin/tenants/${owner.tenantId}/suspend`, { reason: 'Unpaid invoice' });
            expect(suspended.statusCode, suspended.payload).to.equal(200);
            await waitFor(() => live.length > 0);
            expect(live).to.equal([{ tenant_id: owner.tenantId, type: 'tenant', data: { status: 'suspended' } }]);
            subscriber.disconnect();
            expect(suspended.result).to.equal({ tenant_id: owner.tenantId, status: 'suspended', paused_campaigns: 1, message: 'Tenant suspended; 1 running campaigns paused' });

            expect((await db()('tenants').where({ id: owner.tenantId }).first('status')).status).to.equal('suspended');
            for (const headers of [owner.headers, staff.headers, key]) {
                expect(await statusFor(headers)).to.equal(401);
            }

            expect(await campaigns([running, draft, stoppedByOwner, otherRunning])).to.equal({
                [running]: ['paused', 'Tenant suspended: Unpaid invoice'],
                [draft]: ['draft', null],
                [stoppedByOwner]: ['paused', null],
                [otherRunning]: ['running', null]
            });

            // Another tenant is untouched

            expect((await db()('tenants').where({ id: other.tenantId }).first('status')).status).to.equal('active');
            expect(await statusFor(other.headers)).to.equal(200);
            expect(await statusFor(otherKey)).to.equal(200);

            const shown = (await call('GET', `/api/v1/admin/tenants/${owner.tenantId}`)).result as Record<string, any>;
            expect(shown.status).to.equal('suspended');
            expect(shown.counts.running_campaigns).to.equal(0);
            expect(shown.suspension).to.include({ reason: 'Unpaid invoice', suspended_by: rootEmail });

            const again = await call('POST', `/api/v1/admin/tenants/${owner.tenantId}/suspend`, { reason: 'Twice' });
            expect(again.statusCode).to.equal(409);
            expect(again.result).to.equal({ detail: 'The tenant is already suspended' });
            expect((await call('POST', `/api/v1/admin/tenants/${other.tenantId}/suspend`, {})).result).to.equal({ detail: '"reason" is required' });

            const reactivated = await call('POST', `/api/v1/admin/tenants/${owner.tenantId}/reactivate`);
            expect(reactivated.statusCode, reactivated.payload).to.equal(200);
            expect(reactivated.result).to.include({ tenant_id: owner.tenantId, status: 'active' });
            for (const headers of [owner.headers, staff.headers, key]) {
                expect(await statusFor(headers)).to.equal(200);
            }

            expect((await campaigns([running]))[running]).to.equal(['paused', 'Tenant suspended: Unpaid invoice']);         // the owner restarts it
            expect(((await call('GET', `/api/v1/admin/tenants/${owner.tenantId}`)).result as Record<string, unknown>).suspension).to.be.null();

            const twice = await call('POST', `/api/v1/admin/tenants/${owner.tenantId}/reactivate`);
            expect(twice.statusCode).to.equal(409);
            expect(twice.result).to.equal({ detail: 'The tenant is already active' });

            expect(await auditOf(owner.tenantId)).to.equal([
                { admin_id: admin.user.id, admin_email: rootEmail, action: 'tenant.suspend', target_type: 'tenant', details: { reason: 'Unpaid invoice', paused_campaigns: [running] } },
                { admin_id: admin.user.id, admin_email: rootEmail, action: 'tenant.reactivate', target_type: 'tenant', details: {} }
            ]);

            expect(await auditOf(other.tenantId)).to.equal([]);
            expect((await call('POST', `/api/v1/admin/tenants/${Crypto.randomUUID()}/reactivate`)).statusCode).to.equal(404);
        });

        it('refuses to suspend the admin\'s own tenant', async () => {

            const res = await call('POST', `/api/v1/admin/tenants/${admin.tenantId}/suspend`, { reason: 'Oops' });
            expect(res.statusCode).to.equal(409);
            expect(res.result).to.equal({ detail: 'You cannot suspend your own tenant: it would lock you out' });
            expect((await db()('tenants').where({ id: admin.tenantId }).first('status')).status).to.equal('active');
            expect(await auditOf(admin.tenantId)).to.equal([]);
        });
    });


    describe('users', () => {

        it('lists users filtered by tenant, role and email', async () => {

            const owner = await signUp(server);
            const first = await member(owner.tenantId);
            const second = await member(owner.tenantId);

            const ids = async (query: string) => {

                const res = await call('GET', `/api/v1/admin/users?${query}`);
                expect(res.statusCode, res.payload).to.equal(200);
                const body = res.result as { items: Array<{ id: string }>; total: number };
                return { ids: body.items.map((item) => item.id), total: body.total };
            };

            expect(await ids(`tenant_id=${owner.tenantId}`)).to.equal({ ids: [second.id, first.id, owner.user.id!], total: 3 });
            expect(await ids(`tenant_id=${owner.tenantId}&role=user`)).to.equal({ ids: [second.id, first.id], total: 2 });
            expect(await ids(`search=${encodeURIComponent(first.email.toUpperCase())}`)).to.equal({ ids: [first.id], total: 1 });
            expect(await ids(`tenant_id=${owner.tenantId}&page_size=1&page=3`)).to.equal({ ids: [owner.user.id!], total: 3 });
            expect((await ids('role=admin')).ids).to.include(admin.user.id!);
            expect((await ids('role=admin')).ids).to.not.include(owner.user.id!);

            const listed = ((await call('GET', `/api/v1/admin/users?search=${encodeURIComponent(first.email)}`)).result as { items: Array<Record<string, unknown>> }).items[0];
            expect(listed).to.include({ id: first.id, email: first.email, role: 'user', status: 'active', tenant_id: owner.tenantId });

            expect((await call('GET', '/api/v1/admin/users?role=superuser')).statusCode).to.equal(400);
            expect((await call('GET', '/api/v1/admin/users?tenant_id=nope')).statusCode).to.equal(400);
        });

        it('changes a role, which applies to the user\'s next request, and records it', async () => {

            const owner = await signUp(server);
            const staff = await member(owner.tenantId);
            const change = (role: string, userId = staff.id) => call('PATCH', `/api/v1/admin/users/${userId}/role`, { role });
            const stats = async () => (await call('GET', '/api/v1/admin/stats', undefined, staff.headers)).statusCode;

            expect(await stats()).to.equal(403);

            const promoted = await change('admin');
            expect(promoted.statusCode, promoted.payload).to.equal(200);
            expect(promoted.result).to.include({ id: staff.id, role: 'admin', tenant_id: owner.tenantId });
            expect(await stats()).to.equal(200);

            expect((await change('owner')).statusCode).to.equal(200);
            expect(await stats()).to.equal(403);
            expect((await db()('user_profiles').where({ id: staff.id }).first('role')).role).to.equal('owner');

            const same = await change('owner');
            expect(same.statusCode).to.equal(409);
            expect(same.result).to.equal({ detail: 'The user is already owner' });
            expect((await change('owner', Crypto.randomUUID())).statusCode).to.equal(404);
            expect((await change('root')).statusCode).to.equal(400);

            const audit = await call('GET', `/api/v1/admin/audit?target_id=${staff.id}`);
            expect(audit.statusCode).to.equal(200);
            expect((audit.result as { items: Array<Record<string, unknown>> }).items.map(({ action, target_type: type, details }) => ({ action, type, details }))).to.equal([
                { action: 'user.change_role', type: 'user', details: { email: staff.email, from: 'admin', to: 'owner' } },
                { action: 'user.change_role', type: 'user', details: { email: staff.email, from: 'user', to: 'admin' } }
            ]);
        });

        it('refuses an admin\'s own demotion, and the demotion of an admin ADMIN_EMAILS names', async () => {

            for (const role of ['owner', 'user']) {
                const res = await call('PATCH', `/api/v1/admin/users/${admin.user.id}/role`, { role });
                expect(res.statusCode).to.equal(409);
                expect(res.result).to.equal({ detail: 'You cannot give up your own admin role; ask another admin' });
            }

            const same = await call('PATCH', `/api/v1/admin/users/${admin.user.id}/role`, { role: 'admin' });
            expect(same.statusCode).to.equal(409);
            expect(same.result).to.equal({ detail: 'The user is already admin' });
            expect((await db()('user_profiles').where({ id: admin.user.id }).first('role')).role).to.equal('admin');

            const deputy = await signUp(server, { email: deputyEmail });
            expect(deputy.user.role).to.equal('admin');
            const refused = await call('PATCH', `/api/v1/admin/users/${deputy.user.id}/role`, { role: 'owner' });
            expect(refused.statusCode).to.equal(409);
            expect(refused.result).to.equal({ detail: `${deputyEmail} is named in ADMIN_EMAILS, which makes it an admin at every sign-in; remove it there first` });
            expect((await db()('user_profiles').where({ id: deputy.user.id }).first('role')).role).to.equal('admin');

            expect(await auditOf(admin.user.id!)).to.equal([]);
            expect(await auditOf(deputy.user.id!)).to.equal([]);
        });

        it('leaves one of two admins demoting each other at once an admin', async () => {

            const owner = await signUp(server);
            const [first, second] = [await member(owner.tenantId, 'admin'), await member(owner.tenantId, 'admin')];
            const demote = (by: typeof first, userId: string) => call('PATCH', `/api/v1/admin/users/${userId}/role`, { role: 'owner' }, by.headers);

            const answers = await Promise.all([demote(first, second.id), demote(second, first.id)]);
            expect(answers.map((res) => res.statusCode).sort()).to.equal([200, 403]);
            expect(await db()('user_profiles').whereIn('id', [first.id, second.id]).where({ role: 'admin' }).count('* as n').first()).to.equal({ n: 1 });

            // An admin demoted after their request was let in changes nothing

            const third = await member(owner.tenantId, 'owner');
            const stale = { id: third.id, email: third.email, tenant_id: owner.tenantId };
            await expect(Users.changeRole(db(), stale, { user_id: owner.user.id!, role: 'user', admin_emails: [] })).to.reject('You are no longer an admin');
            expect((await db()('user_profiles').where({ id: owner.user.id }).first('role')).role).to.equal('owner');
            expect(await auditOf(owner.user.id!)).to.equal([]);
        });
    });


    describe('stats', () => {

        type Numbers = Record<string, Record<string, number | Record<string, number>>>;

        const stats = async () => {

            const res = await call('GET', '/api/v1/admin/stats');
            expect(res.statusCode, res.payload).to.equal(200);
            return res.result as Numbers;
        };

        it('counts tenants, users, campaigns, calls and billed minutes from the rows', async () => {

            const earlier = await stats();

            const active = await signUp(server);
            const suspended = await signUp(server);
            await db()('tenants').where({ id: suspended.tenantId }).update({ status: 'suspended' });
            await member(active.tenantId);
            const running = await campaign(active.tenantId, 'running');
            await campaign(active.tenantId, 'paused');
            await campaign(active.tenantId, 'draft', { deleted_at: new Date() });
            await addCall(active.tenantId, running, { status: 'ringing' });
            await addCall(active.tenantId, running, { status: 'in_progress' });
            await addCall(active.tenantId, running, { billed_minutes: 3 });
            await addCall(active.tenantId, running, { billed_minutes: 5, created_at: new Date(Date.now() - 40 * 86_400_000) });           // an earlier month

            const later = await stats();
            const grown = (path: string) => {

                const [group, key, sub] = path.split('.') as [string, string, string?];
                const read = (numbers: Numbers) => (sub ? (numbers[group]![key] as Record<string, number>)[sub] : numbers[group]![key]) as number;
                return read(later) - read(earlier);
            };

            expect({
                tenants: [grown('tenants.total'), grown('tenants.by_status.active'), grown('tenants.by_status.suspended')],
                users: [grown('users.total'), grown('users.by_role.owner'), grown('users.by_role.user'), grown('users.by_role.admin')],
                campaigns: [grown('campaigns.total'), grown('campaigns.by_status.running'), grown('campaigns.by_status.paused'), grown('campaigns.by_status.draft')],
                calls: [grown('calls.total'), grown('calls.today'), grown('calls.live')],
                minutes: [grown('minutes_billed.total'), grown('minutes_billed.this_month')]
            }).to.equal({
                tenants: [2, 1, 1],
                users: [3, 2, 1, 0],
                campaigns: [2, 1, 1, 0],
                calls: [4, 3, 2],
                minutes: [8, 3]
            });

            // Totals agree with their parts

            for (const [group, parts] of [['tenants', 'by_status'], ['users', 'by_role'], ['campaigns', 'by_status']]) {
                const sum = Object.values(later[group!]![parts!] as Record<string, number>).reduce((total, n) => total + n, 0);
                expect(later[group!]!.total, group).to.equal(sum);
            }
        });

        it('draws today and this month at UTC midnights', async () => {

            const owner = await signUp(server);
            const running = await campaign(owner.tenantId, 'running');
            const at: Array<[string, number]> = [
                ['2031-05-20T00:00:00.000Z', 1],            // today's first moment
                ['2031-05-19T23:59:59.999Z', 2],            // yesterday, this month
                ['2031-05-01T00:00:00.000Z', 4],            // the month's first moment
                ['2031-04-30T23:59:59.999Z', 8],            // last month
                ['2031-06-01T00:00:00.000Z', 16]            // next month
            ];

            for (const [createdAt, minutes] of at) {
                await addCall(owner.tenantId, running, { billed_minutes: minutes, created_at: new Date(createdAt) });
            }

            const counted = await Stats.platform(db(), new Date('2031-05-20T12:00:00Z'));
            expect(counted.calls.today).to.equal(1);
            expect(counted.minutes_billed.this_month).to.equal(1 + 2 + 4);
        });
    });


    describe('queues', () => {

        it('lists the queues with their counts, and puts a queue\'s failed jobs back', async () => {

            const { config, queues, redis } = server.plugins.core;
            const name = `admin-test-${Crypto.randomBytes(4).toString('hex')}`;
            const tenantId = Crypto.randomUUID();
            await redis.sadd(tenantsKey, tenantId);

            // The queue is one this process handles. Core's workers drop failed jobs, so a worker
            // that keeps them, as a queue whose failures are meant to be retried needs, runs it here.

            queues.process(name, () => Promise.resolve());
            const attempts = new Map<number, number>();
            const worker = new BeeQueue<{ n: number }>(name, {
                prefix: `${config.redisPrefix}:bq`,
                redis: { url: config.redisUrl } as BeeQueue.QueueSettings['redis'],
                getEvents: false,
                removeOnSuccess: true,
                removeOnFailure: false
            });

            try {
                worker.process((job) => {

                    const attempt = (attempts.get(job.data.n) ?? 0) + 1;
                    attempts.set(job.data.n, attempt);
                    return attempt === 1 ? Promise.reject(new Error('the first try fails')) : Promise.resolve('done');
                });

                for (const n of [1, 2]) {
                    await queues.get(name).createJob({ n }).save();
                }

                await waitFor(async () => (await worker.checkHealth()).failed === 2);

                const listed = await call('GET', '/api/v1/admin/queues');
                expect(listed.statusCode, listed.payload).to.equal(200);
                const entries = (listed.result as { queues: Array<Record<string, unknown>> }).queues;
                expect(entries.map((entry) => entry.name)).to.include(['auth-mail', 'dial-priority', `dial-tenant-${tenantId}`, name]);
                expect(entries.find((entry) => entry.name === name)).to.equal({ name, waiting: 0, active: 0, delayed: 0, failed: 2 });
                expect(entries.find((entry) => entry.name === 'auth-mail')).to.equal({ name: 'auth-mail', waiting: 0, active: 0, delayed: 0, failed: 0 });

                const retried = await call('POST', `/api/v1/admin/queues/${name}/retry`);
                expect(retried.statusCode, retried.payload).to.equal(200);
                expect(retried.result).to.equal({ queue: name, retried: 2, message: '2 failed jobs back in the queue' });

                // Each job runs again, and this time succeeds

                await waitFor(() => attempts.get(1) === 2 && attempts.get(2) === 2);
                await waitFor(async () => {

                    const health = await worker.checkHealth();
                    return health.failed === 0 && health.waiting === 0 && health.active === 0;
                });

                expect(await auditOf(name)).to.equal([{ admin_id: admin.user.id, admin_email: rootEmail, action: 'queue.retry', target_type: 'queue', details: { retried: 2 } }]);

                // Nothing failed, nothing retried, nothing recorded

                expect((await call('POST', `/api/v1/admin/queues/${name}/retry`)).result).to.include({ retried: 0 });
                expect(await auditOf(name)).to.have.length(1);

                const unknown = await call('POST', '/api/v1/admin/queues/no-such-queue/retry');
                expect(unknown.statusCode).to.equal(404);
                expect(unknown.result).to.equal({ detail: 'No queue no-such-queue' });
                expect((await call('POST', '/api/v1/admin/queues/bad%20name/retry')).statusCode).to.equal(400);
            }
            finally {
                await worker.close(1000);
            }
        });
    });


    describe('queues without Redis', () => {

        it('answer 503 rather than hang or fail', async () => {

            const offline = await startServer({ adminEmails: [rootEmail], role: 'api', redisUrl: `redis://127.0.0.1:${await closedPort()}` });
            try {
                const root = await signUp(offline.server, { email: rootEmail });
                for (const [method, url] of [['GET', '/api/v1/admin/queues'], ['POST', '/api/v1/admin/queues/auth-mail/retry']]) {
                    const res = await offline.server.inject({ method: method!, url: url!, headers: root.headers });
                    expect(res.statusCode, url).to.equal(503);
                    expect(res.result, url).to.equal({ detail: 'Redis is not answering' });
                }
            }
            finally {
                await offline.cleanup();
            }
        });
    });


    describe('audit', () => {

        it('lists what admins changed, newest first, filtered by action and target', async () => {

            const owner = await signUp(server, { plan: 'basic' });
            const target = `/api/v1/admin/tenants/${owner.tenantId}`;
            expect((await call('POST', `${target}/minutes`, { minutes: 10 })).statusCode).to.equal(200);
            expect((await call('PATCH', `${target}/plan`, { plan_id: 'pro' })).statusCode).to.equal(200);
            expect((await call('POST', `${target}/suspend`, { reason: 'Chargeback' })).statusCode).to.equal(200);
            expect((await call('POST', `${target}/reactivate`)).statusCode).to.equal(200);

            const list = async (query: string) => {

                const res = await call('GET', `/api/v1/admin/audit?${query}`);
                expect(res.statusCode, res.payload).to.equal(200);
                return res.result as { items: Array<Record<string, any>>; total: number; page: number; page_size: number };
            };

            const all = await list(`target_id=${owner.tenantId}`);
            expect(all.total).to.equal(4);
            expect(all.items.map((item) => item.action)).to.equal(['tenant.reactivate', 'tenant.suspend', 'tenant.change_plan', 'tenant.add_minutes']);
            expect(all.items[1]).to.include({ admin_id: admin.user.id, admin_email: rootEmail, target_type: 'tenant', target_id: owner.tenantId, details: { reason: 'Chargeback', paused_campaigns: [] } });
            expect(all.items[0]!.id as number).to.be.above(all.items[1]!.id as number);

            const one = await list(`target_id=${owner.tenantId}&action=tenant.change_plan`);
            expect(one.items.map((item) => item.details)).to.equal([{ from: 'basic', to: 'pro' }]);

            const suspensions = await list('action=tenant.suspend&page_size=100');
            expect(suspensions.items.every((item) => item.action === 'tenant.suspend')).to.be.true();
            expect(suspensions.items[0]!.target_id).to.equal(owner.tenantId);

            expect((await list(`target_id=${owner.tenantId}&page_size=1&page=2`)).items.map((item) => item.action)).to.equal(['tenant.suspend']);
            expect((await call('GET', '/api/v1/admin/audit?action=tenant.delete')).statusCode).to.equal(400);
        });
    });
});
