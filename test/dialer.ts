import ChildProcess from 'child_process';
import Fs from 'fs';
import Os from 'os';
import Path from 'path';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';

import type { Clock } from '../core/plugin';
import { signWebhook } from '../plugins/vonage/signature';
import { startServer, waitFor, type Harness } from './lib/harness';
import { closedPort } from './lib/proxy';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


// A clock that runs from a chosen moment (10:00 in New York) and can be moved forward

const movableClock = (start = '2026-12-04T15:00:00Z') => {

    let offset = Date.parse(start) - Date.now();
    const clock: Clock & { advance(ms: number): void } = {
        now: () => new Date(Date.now() + offset),
        advance: (ms: number) => {

            offset += ms;
        }
    };

    return clock;
};


const signatureSecret = 'simulated-signature-secret-0123';


// A whole Talky on a real listener, dialling through the simulator, which calls back over HTTP

const dialerServer = async (overrides: Record<string, unknown> = {}, clock: Clock = movableClock()) => {

    const port = await closedPort();
    return await startServer({
        port,
        publicUrl: `http://127.0.0.1:${port}`,
        telephonyProvider: 'simulator',
        telephonyMaxCps: 1000,
        vonageSignatureSecret: signatureSecret,
        simulatorTimeScale: 0.002,
        simulatorSeed: 7,
        dialerReconcileSeconds: 3600,
        logLevel: process.env.TEST_LOG ?? 'silent',
        ...overrides
    }, { listen: true, clock });
};


type Owner = Awaited<ReturnType<typeof signUp>>;


const numbers = (count: number, from = 0) => Array.from({ length: count }, (_, i) => `+1212555${String(from + i).padStart(4, '0')}`);


const campaignWith = async (server: Server, owner: Owner, phones: string[], fields: Record<string, unknown> = {}) => {

    const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Dialer test', max_concurrent_calls: 5, ...fields } });
    expect(created.statusCode, created.payload).to.equal(201);
    const id = (created.result as { id: string }).id;
    if (phones.length) {
        const res = await server.inject({ method: 'POST', url: '/api/v1/contacts/bulk', headers: owner.headers, payload: { campaign_id: id, contacts: phones.map((phone_number) => ({ phone_number })) } });
        expect(res.statusCode, res.payload).to.equal(200);
    }

    return id;
};


const count = async (server: Server, table: string, where: Record<string, unknown>) => Number((await server.plugins.core.db(table).where(where).count({ n: '*' }))[0]!.n);

const post = (server: Server, owner: Owner, url: string, payload: object = {}) => server.inject({ method: 'POST', url, headers: owner.headers, payload });

const get = async (server: Server, owner: Owner, url: string) => (await server.inject({ method: 'GET', url, headers: owner.headers })).result as Record<string, any>;


// The invariants every finished campaign keeps: stats agree with the rows, and the counters too

const expectConsistent = async (server: Server, owner: Owner, campaignId: string) => {

    const { db } = server.plugins.core;
    const stats = await get(server, owner, `/api/v1/campaigns/${campaignId}/stats`);
    const jobs: Array<{ status: string; n: string }> = await db('dialer_jobs').where({ campaign_id: campaignId }).groupBy('status').select('status').count('* as n');
    const calls: Array<{ outcome: string; answered_at: Date | null; billed_minutes: number }> = await db('calls').where({ campaign_id: campaignId }).select('outcome', 'answered_at', 'billed_minutes');
    const campaign: Record<string, number> = await db('campaigns').where({ id: campaignId }).first();

    for (const { status, n } of jobs) {
        expect(stats.job_status_counts[status]).to.equal(Number(n));
    }

    const outcomes: Record<string, number> = {};
    calls.forEach((call) => (outcomes[call.outcome] = (outcomes[call.outcome] ?? 0) + 1));
    expect(stats.call_outcome_counts).to.equal(outcomes);

    const ended = calls.filter((call) => call.outcome !== 'not_placed');
    expect(campaign.calls_completed).to.equal(ended.filter((call) => call.answered_at).length);
    expect(campaign.calls_failed).to.equal(ended.filter((call) => !call.answered_at).length);

    const leads = await db('leads').where({ campaign_id: campaignId }).sum('call_attempts as attempts').first();
    expect(Number(leads!.attempts)).to.equal(ended.length);
    return { stats, calls, campaign };
};


describe('dialer', () => {

    describe('start, pause and stop', () => {

        let harness: Harness;
        let server: Server;
        let owner: Owner;

        before(async () => {

            harness = await startServer({ role: 'api' });                // jobs are queued, nobody dials
            server = harness.server;
            owner = await signUp(server, { plan: 'pro' });
        });

        after(() => harness.cleanup());

        it('makes one job per pending lead with the reference\'s priorities, and queues them', async () => {

            const id = await campaignWith(server, owner, []);
            const { db, redis } = server.plugins.core;
            const contacts = [
                { phone_number: '+12125550001' },
                { phone_number: '+12125550002', priority: 7, is_high_value: true },
                { phone_number: '+12125550003', priority: 9, tags: ['urgent'], is_high_value: true },
                { phone_number: '+12125550004', tags: ['appointment'] },
                { phone_number: '+12125550005', priority: 2 }
            ];

            await post(server, owner, '/api/v1/contacts/bulk', { campaign_id: id, contacts });
            await db('leads').where({ phone_number: '+12125550005', campaign_id: id }).update({ status: 'dnc' });

            const res = await post(server, owner, `/api/v1/campaigns/${id}/start`);
            expect(res.statusCode, res.payload).to.equal(200);
            expect(res.result).to.include({ campaign_id: id, status: 'running', jobs_queued: 4 });

            const jobs = await db('dialer_jobs as j').join('leads as l', 'l.id', 'j.lead_id').where('j.campaign_id', id).select('l.phone_number', 'j.priority', 'j.status', 'j.seq');
            const byPhone = Object.fromEntries(jobs.map((job: Record<string, any>) => [job.phone_number, job.priority]));
            expect(byPhone).to.equal({ '+12125550001': 5, '+12125550002': 9, '+12125550003': 10, '+12125550004': 6 });

            // Priority 8 and above to the priority queue, the rest to the tenant's

            const queued = async (queue: string) => (await redis.hkeys(`bq:${queue}:jobs`)).length;
            expect(await queued('dial-priority')).to.equal(2);
            expect(await queued(`dial-tenant-${owner.tenantId}`)).to.equal(2);
            expect(await redis.sismember('dialer:tenants', owner.tenantId)).to.equal(1);

            const listed = await get(server, owner, `/api/v1/campaigns/${id}/jobs?page_size=2`);
            expect(listed.total).to.equal(4);
            expect(listed.items.map((job: Record<string, any>) => job.priority)).to.equal([10, 9]);
            expect((await get(server, owner, `/api/v1/campaigns/${id}/jobs?status=completed`)).total).to.equal(0);

            const stats = await get(server, owner, `/api/v1/campaigns/${id}/stats`);
            expect(stats).to.include({ campaign_id: id, campaign_status: 'running', total_leads: 5, goals_achieved: 0, call_outcome_counts: {} });
            expect(stats.job_status_counts).to.include({ pending: 4, completed: 0, failed: 0, retry_scheduled: 0 });
        });

        it('applies priority_override and refuses a second start', async () => {

            const id = await campaignWith(server, owner, ['+12125550101']);
            const res = await post(server, owner, `/api/v1/campaigns/${id}/start`, { priority_override: 8 });
            expect(res.statusCode).to.equal(200);
            expect((await get(server, owner, `/api/v1/campaigns/${id}/jobs`)).items[0].priority).to.equal(8);

            const again = await post(server, owner, `/api/v1/campaigns/${id}/start`);
            expect(again.statusCode).to.equal(409);
            expect(again.result).to.equal({ detail: 'Campaign is already running' });
        });

        it('starts once when asked twice at the same moment', async () => {

            const id = await campaignWith(server, owner, numbers(20, 200));
            const [a, b] = await Promise.all([post(server, owner, `/api/v1/campaigns/${id}/start`), post(server, owner, `/api/v1/campaigns/${id}/start`)]);
            expect([a.statusCode, b.statusCode].sort()).to.equal([200, 409]);
            expect(await count(server, 'dialer_jobs', { campaign_id: id })).to.equal(20);
        });

        it('refuses a campaign with no pending leads, and a tenant with no minutes', async () => {

            const empty = await campaignWith(server, owner, []);
            const res = await post(server, owner, `/api/v1/campaigns/${empty}/start`);
            expect(res.statusCode).to.equal(409);
            expect(res.result).to.equal({ detail: 'The campaign has no pending leads to call' });

            const broke = await signUp(server, { plan: 'pro' });
            await server.plugins.core.db('tenants').where({ id: broke.tenantId }).update({ minutes_remaining: 0 });
            const id = await campaignWith(server, broke, ['+12125550301']);
            const refused = await post(server, broke, `/api/v1/campaigns/${id}/start`);
            expect(refused.statusCode).to.equal(402);
            expect(refused.result).to.equal({ detail: 'No calling minutes left on your plan' });
            expect(await count(server, 'dialer_jobs', { campaign_id: id })).to.equal(0);
        });

        it('pauses, resumes with the same jobs, and stops with the waiting jobs cancelled', async () => {

            const id = await campaignWith(server, owner, numbers(3, 400));
            expect((await post(server, owner, `/api/v1/campaigns/${id}/pause`)).statusCode).to.equal(409);
            await post(server, owner, `/api/v1/campaigns/${id}/start`);

            const paused = await post(server, owner, `/api/v1/campaigns/${id}/pause`);
            expect(paused.statusCode).to.equal(200);
            expect(paused.result).to.include({ status: 'paused' });

            const resumed = await post(server, owner, `/api/v1/campaigns/${id}/start`);
            expect(resumed.result).to.include({ status: 'running', jobs_queued: 3 });
            expect(await count(server, 'dialer_jobs', { campaign_id: id, seq: 2 })).to.equal(3);

            const stopped = await post(server, owner, `/api/v1/campaigns/${id}/stop`);
            expect(stopped.result).to.include({ status: 'stopped', jobs_cancelled: 3 });
            expect((await post(server, owner, `/api/v1/campaigns/${id}/stop`)).statusCode).to.equal(409);
            expect((await get(server, owner, `/api/v1/campaigns/${id}/stats`)).job_status_counts).to.include({ cancelled: 3, pending: 0 });

            // A stopped campaign can be started again: its cancelled jobs come back

            const restarted = await post(server, owner, `/api/v1/campaigns/${id}/start`);
            expect(restarted.result).to.include({ status: 'running', jobs_queued: 3 });
        });

        it('keeps each tenant to its own campaigns, and validates input', async () => {

            const id = await campaignWith(server, owner, ['+12125550501']);
            const other = await signUp(server);
            for (const action of ['start', 'pause', 'stop']) {
                expect((await post(server, other, `/api/v1/campaigns/${id}/${action}`)).statusCode).to.equal(404);
            }

            expect((await server.inject({ method: 'GET', url: `/api/v1/campaigns/${id}/stats`, headers: other.headers })).statusCode).to.equal(404);
            expect((await server.inject({ method: 'GET', url: `/api/v1/campaigns/${id}/jobs`, headers: other.headers })).statusCode).to.equal(404);

            // Another tenant's id in the body is for admins only

            const forOther = await post(server, owner, `/api/v1/campaigns/${id}/start`, { tenant_id: other.tenantId });
            expect(forOther.statusCode).to.equal(403);

            const bad = await post(server, owner, `/api/v1/campaigns/${id}/start`, { priority_override: 11 });
            expect(bad.statusCode).to.equal(400);
            expect(bad.result).to.equal({ detail: '"priority_override" must be less than or equal to 10' });
            expect((await server.inject({ method: 'GET', url: `/api/v1/campaigns/${id}/jobs?status=lost`, headers: owner.headers })).statusCode).to.equal(400);
            expect((await server.inject({ method: 'POST', url: '/api/v1/campaigns/nope/start', headers: owner.headers })).statusCode).to.equal(400);
        });
    });

    describe('through the simulator', () => {

        const finished = (server: Server, id: string, ms = 60_000) => waitFor(async () => (await server.plugins.core.db('campaigns').where({ id }).first('status')).status === 'completed', ms);

        // Never two calls to one number at once, as the simulator saw them

        const expectNoOverlap = (server: Server) => {

            const byNumber = new Map<string, Array<{ from: number; to: number }>>();
            for (const call of server.plugins.simulator.instance().calls.values()) {
                const spans = byNumber.get(call.to) ?? [];
                spans.push({ from: call.createdAt.getTime(), to: (call.endedAt ?? new Date()).getTime() });
                byNumber.set(call.to, spans);
            }

            for (const spans of byNumber.values()) {
                spans.sort((a, b) => a.from - b.from);
                for (let i = 1; i < spans.length; ++i) {
                    expect(spans[i]!.from).to.be.at.least(spans[i - 1]!.to);
                }
            }
        };

        it('runs a campaign to completed within its concurrency, with stats that agree with the rows', async () => {

            const harness = await dialerServer({ simulatorOutcomes: 'answered:0.5,busy:0.2,no_answer:0.2,voicemail:0.05,failed:0.05' });
            try {
                const { server } = harness;
                const owner = await signUp(server, { plan: 'pro' });
                const minutesBefore = (await server.plugins.core.db('tenants').where({ id: owner.tenantId }).first()).minutes_remaining;
                const id = await campaignWith(server, owner, numbers(40), { max_concurrent_calls: 4, max_retries: 0 });

                expect((await post(server, owner, `/api/v1/campaigns/${id}/start`)).statusCode).to.equal(200);
                await finished(server, id);

                const { stats, calls, campaign } = await expectConsistent(server, owner, id);
                expect(stats.campaign_status).to.equal('completed');
                expect(calls.length).to.equal(40);
                expect(stats.job_status_counts.completed + stats.job_status_counts.failed).to.equal(40);
                expect(campaign.calls_completed).to.be.above(0);
                expect(campaign.calls_failed).to.be.above(0);

                const simulator = server.plugins.simulator.instance();
                expect(simulator.stats.placed).to.equal(40);
                expect(simulator.stats.maxLive).to.be.at.most(4);
                expectNoOverlap(server);

                // Minutes charged once per call, rounded up per started minute

                const billed = calls.reduce((sum, call) => sum + call.billed_minutes, 0);
                expect(billed).to.be.above(0);
                expect((await server.plugins.core.db('tenants').where({ id: owner.tenantId }).first()).minutes_remaining).to.equal(minutesBefore - billed);

                // Every event is kept, once per call and status; replayed in any order, nothing moves

                const { db } = server.plugins.core;
                const events: Array<{ payload: Record<string, unknown>; call_id: string; attempt: number }> = await db('call_events as e').join('calls as c', 'c.id', 'e.call_id').select('e.payload', 'e.call_id', 'c.attempt');
                expect(events.length).to.be.at.least(40 * 2);
                const shuffled = [...events, ...events].sort(() => Math.random() - 0.5);
                for (const event of shuffled) {
                    const body = JSON.stringify(event.payload);
                    const res = await server.inject({
                        method: 'POST',
                        url: `/api/v1/webhooks/vonage/event?call_id=${event.call_id}&attempt=${event.attempt}`,
                        headers: { 'content-type': 'application/json', authorization: `Bearer ${signWebhook(signatureSecret, body)}` },
                        payload: body
                    });

                    expect(res.statusCode).to.be.within(200, 204);
                }

                const again = await expectConsistent(server, owner, id);
                expect(again.stats).to.equal(stats);
                expect(again.campaign.calls_completed).to.equal(campaign.calls_completed);
                expect((await server.plugins.core.db('tenants').where({ id: owner.tenantId }).first()).minutes_remaining).to.equal(minutesBefore - billed);
                expect(await count(server, 'call_events', {})).to.equal(events.length);
            }
            finally {
                await harness.cleanup();
            }
        });

        it('gives a small tenant its turns while a large one fills the call rate', async () => {

            const harness = await dialerServer({ telephonyMaxCps: 10, simulatorOutcomes: 'answered:1' });
            try {
                const { server } = harness;
                const large = await signUp(server, { plan: 'pro' });
                const small = await signUp(server, { plan: 'pro' });
                const backlog = await campaignWith(server, large, numbers(60, 1100), { max_concurrent_calls: 10, max_retries: 0 });
                const few = await campaignWith(server, small, numbers(3, 1200), { max_concurrent_calls: 10, max_retries: 0 });

                await post(server, large, `/api/v1/campaigns/${backlog}/start`);
                await waitFor(async () => await count(server, 'calls', { campaign_id: backlog }) >= 5);
                await post(server, small, `/api/v1/campaigns/${few}/start`);
                await finished(server, few);

                // At 10 calls a second the large tenant needs six: the small one was not left behind it

                expect(await count(server, 'calls', { campaign_id: backlog })).to.be.below(40);
                await finished(server, backlog);
            }
            finally {
                await harness.cleanup();
            }
        });

        it('retries at the campaign\'s delay on its clock, then gives up', async () => {

            const clock = movableClock();
            const harness = await dialerServer({ simulatorOutcomes: 'busy:1' }, clock);
            try {
                const { server } = harness;
                const { db } = server.plugins.core;
                const owner = await signUp(server);
                const id = await campaignWith(server, owner, numbers(5, 100), { max_retries: 1, retry_delay_seconds: 600 });

                const startedAt = clock.now().getTime();
                await post(server, owner, `/api/v1/campaigns/${id}/start`);
                await waitFor(async () => await count(server, 'dialer_jobs', { campaign_id: id, status: 'retry_scheduled' }) === 5, 30_000);

                const jobs = await db('dialer_jobs').where({ campaign_id: id }).select('next_attempt_at', 'attempt', 'last_outcome');
                for (const job of jobs) {
                    expect(job).to.include({ attempt: 1, last_outcome: 'busy' });
                    expect((job.next_attempt_at as Date).getTime()).to.be.within(startedAt + 600_000, clock.now().getTime() + 600_000);
                }

                expect((await db('leads').where({ campaign_id: id }).first()).status).to.equal('pending');

                // Nothing moves before the time; after it, the second and last attempt

                await new Promise((resolve) => setTimeout(resolve, 1200));
                expect(server.plugins.simulator.instance().stats.placed).to.equal(5);
                clock.advance(600_000);
                await finished(server, id);

                expect(server.plugins.simulator.instance().stats.placed).to.equal(10);
                const leads = await db('leads').where({ campaign_id: id }).select('status', 'call_attempts', 'last_call_result');
                expect(leads.every((lead: Record<string, unknown>) => lead.status === 'failed' && lead.call_attempts === 2 && lead.last_call_result === 'busy')).to.be.true();
                await expectConsistent(server, owner, id);
            }
            finally {
                await harness.cleanup();
            }
        });

        it('defers calls outside the hours to the next opening, and skips numbers on the do-not-call list', async () => {

            const clock = movableClock('2026-12-05T03:00:00Z');                   // 22:00 in New York
            const harness = await dialerServer({}, clock);
            try {
                const { server } = harness;
                const { db } = server.plugins.core;
                const owner = await signUp(server);
                const id = await campaignWith(server, owner, numbers(4, 600), { max_retries: 0 });
                await post(server, owner, '/api/v1/contacts/dnc', { phone_number: '+12125550601', reason: 'asked' });

                await post(server, owner, `/api/v1/campaigns/${id}/start`);
                await waitFor(async () => await count(server, 'dialer_jobs', { campaign_id: id, last_decision: 'deferred' }) === 3);

                // On the list before the start: no job at all

                const jobs = await db('dialer_jobs as j').join('leads as l', 'l.id', 'j.lead_id').where('j.campaign_id', id).select('l.phone_number', 'j.status', 'j.next_attempt_at', 'j.decisions');
                expect(jobs.map((job: Record<string, any>) => job.phone_number).sort()).to.equal(['+12125550600', '+12125550602', '+12125550603']);
                expect(await db('leads').where({ campaign_id: id, phone_number: '+12125550601' }).first()).to.include({ status: 'dnc' });
                for (const job of jobs) {
                    expect(job.status).to.equal('pending');
                    expect(job.next_attempt_at).to.equal(new Date('2026-12-05T13:00:00Z'));
                    expect(job.decisions.at(-1)).to.include({ decision: 'deferred', reason: 'outside_local_hours' });
                }

                expect(server.plugins.simulator.instance().stats.placed).to.equal(0);

                // Put on the list while waiting: checked again at the moment of dialling

                await post(server, owner, '/api/v1/contacts/dnc', { phone_number: '+12125550602' });
                clock.advance(10 * 3600_000);                                       // 08:00 in New York
                await finished(server, id);

                const simulator = server.plugins.simulator.instance();
                expect(simulator.stats.placed).to.equal(2);
                expect([...simulator.calls.values()].map((call) => call.to).sort()).to.equal(['12125550600', '12125550603']);
                expect(await db('dialer_jobs as j').join('leads as l', 'l.id', 'j.lead_id').where('l.phone_number', '+12125550602').first('j.status', 'j.last_decision')).to.equal({ status: 'skipped', last_decision: 'skipped' });
                await expectConsistent(server, owner, id);
            }
            finally {
                await harness.cleanup();
            }
        });

        it('loses no lead when Redis is flushed mid-campaign, and never dials a lead twice at once', async () => {

            const clock = movableClock();
            const harness = await dialerServer({ simulatorTimeScale: 0.005, simulatorOutcomes: 'answered:1' }, clock);
            try {
                const { server, config } = harness;
                const { db } = server.plugins.core;
                const owner = await signUp(server);
                const id = await campaignWith(server, owner, numbers(24, 700), { max_concurrent_calls: 3, max_retries: 0 });

                await post(server, owner, `/api/v1/campaigns/${id}/start`);
                await waitFor(async () => await count(server, 'calls', { campaign_id: id, status: 'completed' }) >= 4, 30_000);

                // Every key of this install gone: queued jobs, slots, the tenant's queue

                const redis = server.plugins.core.redis;
                const keys = await redis.keys('*');
                expect(keys.length).to.be.above(0);
                await redis.del(...keys.map((key) => key.slice(config.redisPrefix.length + 1)));

                clock.advance(60_000);
                const { requeued } = await server.plugins.dialer.worker!.reconcile() as { requeued: number };
                expect(requeued).to.be.above(0);
                await finished(server, id);

                const leads = await db('leads').where({ campaign_id: id }).select('call_attempts', 'status');
                expect(leads.length).to.equal(24);
                expect(leads.every((lead: Record<string, unknown>) => lead.call_attempts === 1 && lead.status === 'contacted')).to.be.true();
                expect(server.plugins.simulator.instance().stats.placed).to.equal(24);
                expect(server.plugins.simulator.instance().stats.maxLive).to.be.at.most(3);
                expectNoOverlap(server);
                await expectConsistent(server, owner, id);
            }
            finally {
                await harness.cleanup();
            }
        });

        // The child compiles Talky's TypeScript on start: on a cold tsx cache that alone takes seconds

        it('loses no lead when a worker process is killed mid-campaign', { timeout: 180_000 }, async () => {

            const clock = movableClock(new Date().toISOString());               // the other process keeps the real time
            const harness = await dialerServer({ simulatorTimeScale: 0.005, simulatorOutcomes: 'answered:1', dialerStuckCallMinutes: 1, dialerConcurrency: 3 }, clock);
            const { server, config } = harness;
            const { db } = server.plugins.core;

            // A second Talky, a worker only, on the same Postgres and Redis; its simulator sends
            // its webhooks to the first one, as Vonage would to the api

            const workerPort = await closedPort();
            const worker = ChildProcess.spawn(process.execPath, ['--require', 'tsx/cjs', Path.join(__dirname, '..', 'bin', 'talky.ts')], {
                env: {
                    ...process.env,
                    TALKY_ROLE: 'worker', PORT: String(workerPort), HOST: '127.0.0.1', PUBLIC_URL: config.publicUrl,
                    DATABASE_URL: config.databaseUrl, REDIS_URL: config.redisUrl, REDIS_PREFIX: config.redisPrefix, JWT_SECRET: config.jwtSecret!,
                    TELEPHONY_PROVIDER: 'simulator', TELEPHONY_MAX_CPS: '1000', VONAGE_SIGNATURE_SECRET: signatureSecret,
                    SIMULATOR_TIME_SCALE: '0.005', SIMULATOR_OUTCOMES: 'answered:1', SIMULATOR_SEED: '11', DIALER_CONCURRENCY: '3', LOG_LEVEL: 'warn', NODE_ENV: 'test'
                },
                stdio: ['ignore', 'ignore', 'pipe']
            });

            let stderr = '';
            worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

            try {

                // Up (its health answers) before the campaign starts, or this process dials it all alone

                await waitFor(() => fetch(`http://127.0.0.1:${workerPort}/api/v1/health`).then((res) => res.ok, () => false), 80_000)
                    .catch((err) => Promise.reject(new Error(`${err.message}; the worker said: ${stderr.slice(0, 2000)}`)));

                const owner = await signUp(server);
                const id = await campaignWith(server, owner, numbers(30, 900), { max_concurrent_calls: 6, max_retries: 1, retry_delay_seconds: 60 });
                await post(server, owner, `/api/v1/campaigns/${id}/start`);

                // Killed while calls it placed are live (its simulator dies with it: those calls
                // never end) and while it holds queue messages

                const local = server.plugins.simulator.instance();
                await waitFor(async () => await count(server, 'calls', { campaign_id: id }) - local.stats.placed >= 3 && await count(server, 'calls', { campaign_id: id, status: 'in_progress' }) > 0, 60_000)
                    .catch((err) => Promise.reject(new Error(`${err.message}; the worker said: ${stderr.slice(0, 2000)}`)));
                worker.kill('SIGKILL');
                await new Promise((resolve) => worker.once('exit', resolve));

                // Paused, this worker's own calls end; the dead one's stay live in Postgres

                await post(server, owner, `/api/v1/campaigns/${id}/pause`);
                await waitFor(() => local.stats.live === 0, 30_000);
                await new Promise((resolve) => setTimeout(resolve, 1000));            // webhooks the dead one had sent land
                const orphans = await count(server, 'calls', { campaign_id: id, status: 'in_progress' }) + await count(server, 'calls', { campaign_id: id, status: 'ringing' }) + await count(server, 'calls', { campaign_id: id, status: 'dialing' });
                expect(orphans).to.be.above(0);

                // Silent past the limit: settled, and retried after the delay

                clock.advance(5 * 60_000);
                const { settled } = await server.plugins.dialer.worker!.reconcile() as { settled: number };
                expect(settled).to.equal(orphans);
                clock.advance(2 * 60_000);
                expect((await post(server, owner, `/api/v1/campaigns/${id}/start`)).statusCode).to.equal(200);
                await finished(server, id);

                const leads = await db('leads').where({ campaign_id: id }).select('status', 'call_attempts');
                expect(leads.length).to.equal(30);
                expect(leads.every((lead: Record<string, unknown>) => lead.status === 'contacted')).to.be.true();
                expect(await db('dialer_jobs').where({ campaign_id: id }).whereNot({ status: 'completed' }).count({ n: '*' })).to.equal([{ n: 0 }]);

                // Never two live calls to one lead: each lead's calls follow one another

                const calls: Array<{ lead_id: string; created_at: Date; ended_at: Date }> = await db('calls').where({ campaign_id: id }).orderBy(['lead_id', 'created_at']).select('lead_id', 'created_at', 'ended_at');
                for (let i = 1; i < calls.length; ++i) {
                    if (calls[i]!.lead_id === calls[i - 1]!.lead_id) {
                        expect(calls[i]!.created_at.getTime()).to.be.at.least(calls[i - 1]!.ended_at.getTime());
                    }
                }

                expectNoOverlap(server);
                await expectConsistent(server, owner, id);
            }
            finally {
                worker.kill('SIGKILL');
                await harness.cleanup();
            }
        });

        it('records calls when the campaign asks, keeping each file through the storage slot', async () => {

            const storageDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-storage-'));
            const harness = await dialerServer({ simulatorOutcomes: 'answered:1', storageDir });
            try {
                const { server } = harness;
                const { db } = server.plugins.core;
                const owner = await signUp(server);
                const id = await campaignWith(server, owner, numbers(3, 1000), { max_retries: 0, calling_config: { record: true } });

                await post(server, owner, `/api/v1/campaigns/${id}/start`);
                await finished(server, id);
                await waitFor(async () => await count(server, 'recordings', { tenant_id: owner.tenantId }) === 3, 30_000);

                const recordings: Array<Record<string, string>> = await db('recordings as r').join('calls as c', 'c.id', 'r.call_id').where('c.campaign_id', id).select('r.*');
                for (const recording of recordings) {
                    expect(recording.storage_key).to.startWith(`recordings/${owner.tenantId}/${recording.call_id}/`);
                    const file = Fs.readFileSync(Path.join(storageDir, recording.storage_key));
                    expect(file.length).to.equal(Number(recording.size_bytes));
                    expect(file.subarray(0, 4).toString()).to.equal('RIFF');
                }

                // A repeated recording webhook stores nothing twice

                const [first] = recordings;
                await server.plugins.dialer.handleRecording({ callId: first.call_id, recordingId: first.provider_recording_id, url: `${server.plugins.simulator.instance().url}/v1/files/${first.provider_recording_id}`, raw: {} });
                expect(await count(server, 'recordings', { tenant_id: owner.tenantId })).to.equal(3);
            }
            finally {
                await harness.cleanup();
                Fs.rmSync(storageDir, { recursive: true, force: true });
            }
        });

        it('applies the progress events of many calls arriving at once: each once, in each call\'s order', async () => {

            const harness = await dialerServer();
            try {
                const { server } = harness;
                const { db } = server.plugins.core;
                const owner = await signUp(server);
                const id = await campaignWith(server, owner, numbers(60, 700));
                await db('campaigns').where({ id }).update({ status: 'running' });
                await db.raw(`INSERT INTO dialer_jobs (tenant_id, campaign_id, lead_id, status, attempt) SELECT tenant_id, campaign_id, id, 'dialing', 2 FROM leads WHERE campaign_id = ?`, [id]);
                const { rows: calls } = await db.raw<{ rows: Array<{ id: string; provider_call_id: string }> }>(`
                    INSERT INTO calls (id, tenant_id, campaign_id, lead_id, job_id, attempt, provider, provider_call_id, to_number, status)
                    SELECT gen_random_uuid(), j.tenant_id, j.campaign_id, j.lead_id, j.id, j.attempt, 'simulator', gen_random_uuid()::text, l.phone_number, 'dialing'
                    FROM dialer_jobs j JOIN leads l ON l.id = j.lead_id WHERE j.campaign_id = ? RETURNING id, provider_call_id`, [id]);

                // Every call's events at once, in their order, with a repeat, an older attempt's
                // event and a stranger's mixed in

                const event = (call: { id: string; provider_call_id: string }, status: 'started' | 'ringing' | 'answered' | 'machine', attempt = 2) => ({ callId: call.id, attempt, providerCallId: call.provider_call_id, status, timestamp: new Date(), raw: { status } });
                const dialer = server.plugins.dialer;
                await Promise.all([
                    ...calls.flatMap((call) => ['started', 'ringing', 'answered', 'answered'].map((status) => dialer.handleEvent(event(call, status as 'started')))),
                    ...calls.slice(0, 10).map((call) => dialer.handleEvent(event(call, 'machine', 1))),
                    dialer.handleEvent({ providerCallId: 'not-ours', status: 'ringing', timestamp: new Date(), raw: {} })
                ]);

                const rows: Array<{ status: string; answered_at: Date | null; machine: boolean }> = await db('calls').where({ campaign_id: id }).select('status', 'answered_at', 'machine');
                expect(rows.every((call) => call.status === 'in_progress' && call.answered_at && !call.machine)).to.be.true();
                expect(await count(server, 'dialer_jobs', { campaign_id: id, status: 'in_call' })).to.equal(60);

                const events = await db('call_events').groupBy('status', 'applied').select('status', 'applied').count({ n: '*' }).orderBy(['status', 'applied']) as Array<{ status: string; applied: boolean; n: number }>;
                expect(events).to.equal([
                    { status: 'answered', applied: true, n: 60 },
                    { status: 'machine', applied: false, n: 10 },
                    { status: 'ringing', applied: false, n: 1 },
                    { status: 'ringing', applied: true, n: 60 },
                    { status: 'started', applied: true, n: 60 }
                ]);
            }
            finally {
                await harness.cleanup();
            }
        });

        it('applies a late busy after completed without counting the call twice, and writes nothing for a forged event', async () => {

            const harness = await dialerServer();
            try {
                const { server } = harness;
                const { db } = server.plugins.core;
                const owner = await signUp(server);
                const id = await campaignWith(server, owner, ['+12125550801'], { max_retries: 2 });
                const lead = await db('leads').where({ campaign_id: id }).first('id');
                await db('campaigns').where({ id }).update({ status: 'running' });
                const [job] = await db('dialer_jobs').insert({ tenant_id: owner.tenantId, campaign_id: id, lead_id: lead.id, status: 'dialing', attempt: 1 }).returning('id');
                await db('calls').insert({ id: '11111111-2222-4333-8444-555555555555', tenant_id: owner.tenantId, campaign_id: id, lead_id: lead.id, job_id: job.id, attempt: 1, provider: 'simulator', provider_call_id: 'vonage-uuid-1', to_number: '+12125550801', status: 'ringing' });

                const send = (status: string, extra: object = {}, secret = signatureSecret) => {

                    const body = JSON.stringify({ uuid: 'vonage-uuid-1', conversation_uuid: 'CON-1', status, direction: 'outbound', timestamp: new Date().toISOString(), ...extra });
                    return server.inject({ method: 'POST', url: '/api/v1/webhooks/vonage/event', headers: { 'content-type': 'application/json', authorization: `Bearer ${signWebhook(secret, body)}` }, payload: body });
                };

                const forged = await send('answered', {}, 'not-the-signature-secret-at-all');
                expect(forged.statusCode).to.equal(401);
                expect(await count(server, 'call_events', {})).to.equal(0);

                await send('completed', { duration: '0' });
                let call = await db('calls').where({ provider_call_id: 'vonage-uuid-1' }).first();
                expect(call).to.include({ status: 'completed', outcome: 'no_answer' });

                await send('busy');
                await send('busy');
                call = await db('calls').where({ provider_call_id: 'vonage-uuid-1' }).first();
                expect(call.outcome).to.equal('busy');

                const campaign = await db('campaigns').where({ id }).first();
                expect(campaign).to.include({ calls_failed: 1, calls_completed: 0 });
                expect(await db('leads').where({ id: lead.id }).first()).to.include({ call_attempts: 1, last_call_result: 'busy', status: 'pending' });
                expect(await db('dialer_jobs').where({ id: job.id }).first()).to.include({ status: 'retry_scheduled', last_outcome: 'busy' });
                expect((await db('call_events').select('status', 'applied')).map((event: Record<string, unknown>) => `${event.status}:${event.applied}`).sort()).to.equal(['busy:true', 'completed:true']);
            }
            finally {
                await harness.cleanup();
            }
        });
    });
});
