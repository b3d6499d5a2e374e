import Crypto from 'crypto';
import { Readable } from 'stream';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';

import type { Logger } from 'pino';

import type { Clock } from '../core/plugin';
import { importContacts } from '../plugins/contacts/import';
import { dial, type DialContext } from '../plugins/dialer/dial';
import { applyEvent } from '../plugins/dialer/events';
import { Gate } from '../plugins/dialer/gate';
import { holidayUntil } from '../plugins/dialer/holidays';
import { honourOptOut } from '../plugins/dialer/optout';
import { callsAllowAt, plan, strictest } from '../plugins/dialer/rules';
import { Slots } from '../plugins/dialer/slots';
import type { PlaceCallRequest, Telephony } from '../plugins/dialer/telephony';
import { localHours } from '../plugins/dialer/windows';
import { Agent, isStopRequest, type Turn } from '../plugins/voice/agent';
import { opening, optOutGoodbye } from '../plugins/voice/prompt';
import type { Llm, LlmChunk, Stt, SttOptions, Tts } from '../plugins/voice/slots';
import type { AudioSocket } from '../plugins/voice/socket';
import type { CallActions } from '../plugins/voice/tools';
import { startServer, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const at = (iso: string) => new Date(iso);

const florida = { region: 'US-FL', local_start: '08:00', local_end: '20:00', max_calls_per_24h: 3 };
const federal = { region: null, local_start: '08:00', local_end: '21:00', max_calls_per_24h: null };


describe('calling rules', () => {

    it('narrows the matching rules to the strictest', () => {

        expect(strictest([])).to.equal({ hours: localHours, maxCallsPer24h: null });
        expect(strictest([federal])).to.equal({ hours: { start: '08:00', end: '21:00', reason: 'outside_local_hours' }, maxCallsPer24h: null });
        expect(strictest([federal, florida])).to.equal({ hours: { start: '08:00', end: '20:00', reason: 'outside_rule_hours' }, maxCallsPer24h: 3 });
    });

    it('keeps the default local hours under a region whose country has no rule of its own', () => {

        const quebec = { region: 'CA-QC', local_start: '09:00', local_end: '21:30', max_calls_per_24h: 2 };
        expect(strictest([quebec])).to.equal({ hours: { start: '09:00', end: '21:00', reason: 'outside_rule_hours' }, maxCallsPer24h: 2 });

        // A country's own row may set other hours: its regions narrow those

        const canada = { region: null, local_start: '09:00', local_end: '21:30', max_calls_per_24h: null };
        expect(strictest([canada, quebec])).to.equal({ hours: { start: '09:00', end: '21:30', reason: 'outside_rule_hours' }, maxCallsPer24h: 2 });
    });

    it('lets a number be called again once enough of its calls are 24 hours old', () => {

        const now = at('2026-12-04T15:00:00Z');
        const calls = [at('2026-12-03T19:00:00Z'), at('2026-12-04T05:00:00Z'), at('2026-12-04T14:00:00Z')];
        expect(callsAllowAt(calls, null, now)).to.be.null();
        expect(callsAllowAt(calls.slice(1), 3, now)).to.be.null();
        expect(callsAllowAt(calls, 3, now)).to.equal(at('2026-12-04T19:00:00Z'));
        expect(callsAllowAt([at('2026-12-03T14:00:00Z'), ...calls], 3, now)).to.equal(at('2026-12-04T19:00:00Z'));    // older than 24 h: not counted
        expect(callsAllowAt(calls, 2, now)).to.equal(at('2026-12-05T05:00:00Z'));
    });

    it('moves past a holiday in the number\'s local date, then to the window\'s opening', () => {

        const holidays = new Set(['2026-12-04']);
        const zones = ['America/New_York'];
        expect(holidayUntil(at('2026-12-04T15:00:00Z'), zones, holidays)).to.equal(at('2026-12-05T05:00:00Z'));
        expect(holidayUntil(at('2026-12-04T03:00:00Z'), zones, holidays)).to.be.null();                            // still the 3rd in New York
        expect(plan(at('2026-12-04T15:00:00Z'), {}, zones, localHours, holidays)).to.equal({ allowed: false, reason: 'holiday', next: at('2026-12-05T13:00:00Z') });
        expect(plan(at('2026-12-04T15:00:00Z'), {}, zones, localHours, new Set())).to.equal({ allowed: true });
        expect(plan(at('2026-12-04T15:00:00Z'), {}, zones, localHours, new Set(['2026-12-04', '2026-12-05']))).to.equal({ allowed: false, reason: 'holiday', next: at('2026-12-06T13:00:00Z') });
    });
});


// A clock that runs from a chosen moment and can be moved

const movableClock = (start: string) => {

    let offset = Date.parse(start) - Date.now();
    const clock: Clock & { set(iso: string): void } = {
        now: () => new Date(Date.now() + offset),
        set: (iso: string) => {

            offset = Date.parse(iso) - Date.now();
        }
    };

    return clock;
};


// A gate that lets no dial take its turn until so many of them wait for one

class Barrier extends Gate {

    #arrived = 0;
    #open: () => void = () => undefined;
    readonly #opened = new Promise<void>((resolve) => (this.#open = resolve));

    constructor(private readonly count: number) {

        super(() => Promise.resolve(0));
    }

    override async paced(tenantId: string, urgent: boolean) {

        if (++this.#arrived === this.count) {
            this.#open();
        }

        await this.#opened;
        return await super.paced(tenantId, urgent);
    }
}


type Owner = Awaited<ReturnType<typeof signUp>>;


describe('compliance', () => {

    let harness: Harness;
    let server: Server;
    let owner: Owner;
    let context: DialContext;
    const placed: PlaceCallRequest[] = [];
    const clock = movableClock('2026-12-04T15:00:00Z');                  // 10:00 in New York and Miami

    before(async () => {

        harness = await startServer({ role: 'api' }, { clock });            // nobody dials but these tests
        server = harness.server;
        owner = await signUp(server, { plan: 'pro' });

        const core = server.plugins.core;
        const telephony = {
            placeCall: (request: PlaceCallRequest) => {

                placed.push(request);
                return Promise.resolve({ providerCallId: `fake-${request.callId}` });
            }
        } as unknown as Telephony;

        context = { core, slots: new Slots(core.redis, harness.config.redisPrefix, 60_000), gate: new Gate(() => Promise.resolve(0)), telephony: () => telephony, provider: 'simulator' };
    });

    after(() => harness.cleanup());

    const inject = async (method: string, url: string, payload?: object, who: Owner = owner) => await server.inject({ method, url, headers: who.headers, payload });

    const campaign = async (fields: Record<string, unknown> = {}, who: Owner = owner) => {

        const res = await inject('POST', '/api/v1/campaigns', { name: 'Compliance', max_concurrent_calls: 10, ...fields }, who);
        expect(res.statusCode, res.payload).to.equal(201);
        return (res.result as { id: string }).id;
    };

    const bulk = async (campaignId: string, contacts: object[], who: Owner = owner) => {

        const res = await inject('POST', '/api/v1/contacts/bulk', { campaign_id: campaignId, contacts }, who);
        expect(res.statusCode, res.payload).to.equal(200);
        return res.result as Record<string, any>;
    };

    const start = async (campaignId: string, who: Owner = owner) => {

        const res = await inject('POST', `/api/v1/campaigns/${campaignId}/start`, undefined, who);
        expect(res.statusCode, res.payload).to.equal(200);
    };

    const jobOf = async (campaignId: string, phone: string) => {

        return await server.plugins.core.db('dialer_jobs as j').join('leads as l', 'l.id', 'j.lead_id')
            .where({ 'j.campaign_id': campaignId, 'l.phone_number': phone })
            .first('j.id', 'j.seq', 'j.status', 'j.next_attempt_at', 'j.decisions', 'j.lead_id', 'l.status as lead_status');
    };

    // What the worker would do with the job's queue message

    const dialNumber = async (campaignId: string, phone: string) => {

        const job = await jobOf(campaignId, phone);
        return await dial(context, { id: job.id, seq: job.seq });
    };

    // Earlier calls to a number, from the campaign's job for it

    const called = async (campaignId: string, phone: string, calls: Array<[string, string]>) => {

        const job = await jobOf(campaignId, phone);
        const { tenant_id: tenantId } = await server.plugins.core.db('campaigns').where({ id: campaignId }).first('tenant_id');
        await server.plugins.core.db('calls').insert(calls.map(([time, outcome], i) => ({
            id: Crypto.randomUUID(), tenant_id: tenantId, campaign_id: campaignId, lead_id: job.lead_id, job_id: job.id,
            attempt: i + 1, provider: 'simulator', to_number: phone, status: 'completed', outcome, created_at: at(time), updated_at: at(time)
        })));
    };

    // What the reconciler does once a deferred job is due

    const due = async (campaignId: string, phone: string) => {

        const job = await jobOf(campaignId, phone);
        await server.plugins.core.db('dialer_jobs').where({ id: job.id }).update({ next_attempt_at: null, seq: job.seq + 1 });
    };

    it('imports consent, refuses a bad consent_at per row, and counts the rows without it', async () => {

        const id = await campaign({ calling_config: { require_consent: true } });
        const result = await bulk(id, [
            { phone_number: '+12125550101', consent_at: '2026-11-01T12:00:00Z', consent_source: 'web form' },
            { phone_number: '+12125550102' },
            { phone_number: '+12125550103', consent_at: 'last tuesday' },
            { phone_number: '+12125550104', consent_at: '2026-02-30' }
        ]);

        expect(result).to.include({ total_rows: 4, imported: 2, failed: 2, without_consent: 1 });
        expect(result.errors.map((error: { row: number }) => error.row)).to.equal([3, 4]);
        expect(result.errors[0].error).to.contain('consent_at');

        const { db } = server.plugins.core;
        const lead = await db('leads').where({ campaign_id: id, phone_number: '+12125550101' }).first('consent_at', 'consent_source');
        expect(lead).to.equal({ consent_at: at('2026-11-01T12:00:00Z'), consent_source: 'web form' });

        // The CSV import reads the same columns, a date alone as its midnight UTC

        const csv = Readable.from(['phone,Consent At,consent_source\n+12125550105,2026-10-01,paper\n+12125550106,,\n+12125550107,2026-10-01 09:30,call\n']);
        const imported = await importContacts(db, csv, { tenantId: owner.tenantId, campaignId: id, requireConsent: true });
        expect(imported).to.include({ imported: 3, failed: 0, without_consent: 1 });
        expect(await db('leads').where({ campaign_id: id, phone_number: '+12125550105' }).first('consent_at', 'consent_source')).to.equal({ consent_at: at('2026-10-01T00:00:00Z'), consent_source: 'paper' });
        expect((await db('leads').where({ campaign_id: id, phone_number: '+12125550107' }).first('consent_at')).consent_at).to.equal(at('2026-10-01T09:30:00Z'));

        // And through the upload route, which knows the campaign requires consent

        const boundary = '----compliance-boundary';
        const file = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="leads.csv"\r\nContent-Type: text/csv\r\n\r\nphone,consent_at\n+12125550109,2026-10-01T08:00:00-04:00\n+12125550110,\n+12125550111,soon\r\n--${boundary}--\r\n`;
        const uploaded = await server.inject({ method: 'POST', url: `/api/v1/contacts/campaigns/${id}/upload`, payload: file, headers: { ...owner.headers, 'content-type': `multipart/form-data; boundary=${boundary}` } });
        expect(uploaded.statusCode, uploaded.payload).to.equal(200);
        expect(uploaded.result).to.include({ total_rows: 3, imported: 2, failed: 1, without_consent: 1 });
        expect((await db('leads').where({ campaign_id: id, phone_number: '+12125550109' }).first('consent_at')).consent_at).to.equal(at('2026-10-01T12:00:00Z'));

        const stats = await inject('GET', `/api/v1/campaigns/${id}/stats`);
        expect(stats.result).to.include({ leads_without_consent: 3 });

        const listed = await inject('GET', `/api/v1/campaigns/${id}/contacts?page_size=100`);
        const shown = (listed.result as { items: Array<{ phone_number: string; consent_at: Date | null; consent_source: string | null }> }).items.find((item) => item.phone_number === '+12125550101');
        expect(shown).to.include({ consent_at: at('2026-11-01T12:00:00Z'), consent_source: 'web form' });

        // A campaign that does not require consent says nothing of it

        const open = await bulk(await campaign(), [{ phone_number: '+12125550108' }]);
        expect(open.without_consent).to.not.exist();
    });

    it('never dials a lead without consent in a campaign that requires it', async () => {

        clock.set('2026-12-04T15:00:00Z');
        const id = await campaign({ calling_config: { require_consent: true } });
        await bulk(id, [{ phone_number: '+12125550201', consent_at: '2026-11-01T12:00:00Z' }, { phone_number: '+12125550202' }]);
        await start(id);

        expect(await dialNumber(id, '+12125550202')).to.equal('no_consent');
        const skipped = await jobOf(id, '+12125550202');
        expect(skipped).to.include({ status: 'skipped', lead_status: 'no_consent' });
        expect(skipped.decisions.at(-1)).to.include({ decision: 'skipped', reason: 'no_consent' });

        expect(await dialNumber(id, '+12125550201')).to.equal('dialed');
        expect(placed.map((call) => call.to)).to.include('+12125550201');
        expect(placed.map((call) => call.to)).to.not.include('+12125550202');
    });

    it('ends Florida\'s calling day at 20:00 where the federal rule allows 21:00', async () => {

        clock.set('2026-12-04T01:30:00Z');                                 // 20:30 on the 3rd in Miami and New York
        const id = await campaign();
        await bulk(id, [{ phone_number: '+13055550301' }, { phone_number: '+12125550301' }]);
        await start(id);

        expect(await dialNumber(id, '+13055550301')).to.equal('deferred');
        const deferred = await jobOf(id, '+13055550301');
        expect(deferred.next_attempt_at).to.equal(at('2026-12-04T13:00:00Z'));
        expect(deferred.decisions.at(-1)).to.include({ decision: 'deferred', reason: 'outside_rule_hours' });

        expect(await dialNumber(id, '+12125550301')).to.equal('dialed');

        // The campaign may turn local hours off, Florida's with them

        const unbound = await campaign({ calling_config: { enforce_local_hours: false } });
        await bulk(unbound, [{ phone_number: '+13055550302' }]);
        await start(unbound);
        expect(await dialNumber(unbound, '+13055550302')).to.equal('dialed');
    });

    it('calls a Florida number at most 3 times in 24 hours, then waits for the oldest call to age', async () => {

        clock.set('2026-12-04T15:00:00Z');
        const { db } = server.plugins.core;
        const id = await campaign();
        await bulk(id, [{ phone_number: '+13055550401' }, { phone_number: '+12125550401' }]);
        await start(id);

        // Three earlier calls to each number, from this tenant

        const earlier = ['2026-12-03T19:00:00Z', '2026-12-04T05:00:00Z', '2026-12-04T14:00:00Z'];
        const tenantId = owner.tenantId;
        for (const phone of ['+13055550401', '+12125550401']) {
            const job = await jobOf(id, phone);
            await db('calls').insert(earlier.map((time, i) => ({
                id: Crypto.randomUUID(), tenant_id: tenantId, campaign_id: id, lead_id: job.lead_id, job_id: job.id,
                attempt: i + 1, provider: 'simulator', to_number: phone, status: 'completed', outcome: 'no_answer', created_at: at(time), updated_at: at(time)
            })));
        }

        expect(await dialNumber(id, '+13055550401')).to.equal('deferred');
        const deferred = await jobOf(id, '+13055550401');
        expect(deferred.next_attempt_at).to.equal(at('2026-12-04T19:00:00Z'));
        expect(deferred.decisions.at(-1)).to.include({ decision: 'deferred', reason: 'max_calls_per_24h' });

        expect(await dialNumber(id, '+12125550401')).to.equal('dialed');           // New York has no such limit

        // Once the oldest call is 24 hours old, the number is called

        clock.set('2026-12-04T19:00:00Z');
        await due(id, '+13055550401');
        expect(await dialNumber(id, '+13055550401')).to.equal('dialed');
    });

    it('keeps a tenant\'s holidays and defers its calls on them', async () => {

        const other = await signUp(server, { plan: 'pro' });
        const added = await inject('POST', '/api/v1/holidays', { date: '2026-12-04', name: 'Founders day' });
        expect(added.statusCode, added.payload).to.equal(201);
        expect(added.result).to.equal({ date: '2026-12-04', name: 'Founders day' });
        expect((await inject('POST', '/api/v1/holidays', { date: '2026-13-01' })).statusCode).to.equal(400);
        expect((await inject('POST', '/api/v1/holidays', { date: '2026-02-30' })).statusCode).to.equal(400);
        await inject('POST', '/api/v1/holidays', { date: '2026-12-25' });

        expect((await inject('GET', '/api/v1/holidays')).result).to.equal({ holidays: [{ date: '2026-12-04', name: 'Founders day' }, { date: '2026-12-25', name: null }] });
        expect((await inject('GET', '/api/v1/holidays', undefined, other)).result).to.equal({ holidays: [] });
        expect((await inject('DELETE', '/api/v1/holidays/2026-12-25', undefined, other)).statusCode).to.equal(404);
        expect((await inject('DELETE', '/api/v1/holidays/2026-12-25')).statusCode).to.equal(204);
        expect((await inject('DELETE', '/api/v1/holidays/2026-12-25')).statusCode).to.equal(404);

        clock.set('2026-12-04T15:00:00Z');                                 // 10:00 on the 4th in New York
        const id = await campaign();
        await bulk(id, [{ phone_number: '+12125550501' }]);
        await start(id);

        expect(await dialNumber(id, '+12125550501')).to.equal('deferred');
        const deferred = await jobOf(id, '+12125550501');
        expect(deferred.next_attempt_at).to.equal(at('2026-12-05T13:00:00Z'));    // 08:00 the next day
        expect(deferred.decisions.at(-1)).to.include({ decision: 'deferred', reason: 'holiday' });

        // Another tenant's holiday is not this one's

        const theirs = await (async () => {

            const res = await inject('POST', '/api/v1/campaigns', { name: 'Theirs' }, other);
            const campaignId = (res.result as { id: string }).id;
            await inject('POST', '/api/v1/contacts/bulk', { campaign_id: campaignId, contacts: [{ phone_number: '+12125550502' }] }, other);
            await inject('POST', `/api/v1/campaigns/${campaignId}/start`, undefined, other);
            return campaignId;
        })();

        expect(await dialNumber(theirs, '+12125550502')).to.equal('dialed');
        await inject('DELETE', '/api/v1/holidays/2026-12-04');
    });

    it('shows a job\'s decisions in order, to its own tenant only', async () => {

        clock.set('2026-12-05T03:00:00Z');                                 // 22:00 in New York
        const id = await campaign({ max_concurrent_calls: 1 });
        await bulk(id, [{ phone_number: '+12125550601' }, { phone_number: '+12125550602' }]);
        await start(id);

        expect(await dialNumber(id, '+12125550601')).to.equal('deferred');
        clock.set('2026-12-05T13:00:00Z');                                 // 08:00
        await due(id, '+12125550601');
        expect(await dialNumber(id, '+12125550601')).to.equal('dialed');

        // The campaign's one slot is taken by that call: the next waits for it, and says so

        let stopping = false;
        const waiting = dial(context, await jobOf(id, '+12125550602'), () => stopping);
        const second = await jobOf(id, '+12125550602');
        for (let i = 0; i < 100 && !(await jobOf(id, '+12125550602')).decisions.length; ++i) {
            await new Promise((resolve) => setTimeout(resolve, 20));
        }

        stopping = true;
        context.gate.freed(id, owner.tenantId);
        expect(await waiting).to.equal('stopping');

        const job = await jobOf(id, '+12125550601');
        const res = await inject('GET', `/api/v1/campaigns/${id}/jobs/${job.id}`);
        expect(res.statusCode, res.payload).to.equal(200);
        const audit = res.result as Record<string, any>;
        expect(audit).to.include({ id: job.id, phone_number: '+12125550601', status: 'dialing', attempt: 1 });
        expect(audit.decisions.map((entry: { decision: string; reason: string | null }) => [entry.decision, entry.reason])).to.equal([['deferred', 'outside_local_hours'], ['dialed', null]]);
        expect(audit.decisions[0].at < audit.decisions[1].at).to.be.true();

        const waited = await inject('GET', `/api/v1/campaigns/${id}/jobs/${second.id}`);
        expect((waited.result as Record<string, any>).decisions.map((entry: { decision: string; reason: string }) => [entry.decision, entry.reason])).to.equal([['waiting', 'campaign_full']]);

        // Stopping the campaign cancels the waiting job, and says why

        expect((await inject('POST', `/api/v1/campaigns/${id}/stop`)).statusCode).to.equal(200);
        const stopped = await inject('GET', `/api/v1/campaigns/${id}/jobs/${second.id}`);
        expect((stopped.result as Record<string, any>).decisions.map((entry: { decision: string; reason: string }) => [entry.decision, entry.reason])).to.equal([['waiting', 'campaign_full'], ['cancelled', 'campaign_stopped']]);

        const other = await signUp(server, { plan: 'pro' });
        expect((await inject('GET', `/api/v1/campaigns/${id}/jobs/${job.id}`, undefined, other)).statusCode).to.equal(404);
        const missing = await inject('GET', `/api/v1/campaigns/${id}/jobs/00000000-0000-4000-8000-000000000000`);
        expect(missing.statusCode).to.equal(404);
        expect(missing.result).to.equal({ detail: 'Job not found' });
    });

    it('counts toward the 24-hour limit only the calls that were placed', async () => {

        clock.set('2026-12-04T15:00:00Z');
        const id = await campaign();
        await bulk(id, [{ phone_number: '+13055550701' }]);
        await start(id);

        // The provider refused one (invalid) and never got another (not_placed): two calls were made

        await called(id, '+13055550701', [['2026-12-04T10:00:00Z', 'no_answer'], ['2026-12-04T11:00:00Z', 'busy'], ['2026-12-04T12:00:00Z', 'invalid'], ['2026-12-04T13:00:00Z', 'not_placed']]);
        expect(await dialNumber(id, '+13055550701')).to.equal('dialed');
    });

    it('lets only one of two dials to a number screened together take its last call of the 24 hours', async () => {

        clock.set('2026-12-04T15:00:00Z');
        const { db } = server.plugins.core;
        const someone = await signUp(server, { plan: 'pro' });
        const phone = '+13055550801';
        const ids = [await campaign({}, someone), await campaign({}, someone)];
        for (const id of ids) {
            await bulk(id, [{ phone_number: phone }], someone);
            await start(id, someone);
        }

        await called(ids[0]!, phone, [['2026-12-03T19:00:00Z', 'no_answer'], ['2026-12-04T14:00:00Z', 'busy']]);

        // Both find room for one more call before either places it

        const together = { ...context, gate: new Barrier(2) };
        const verdicts = await Promise.all(ids.map(async (id) => {

            const job = await jobOf(id, phone);
            return await dial(together, { id: job.id, seq: job.seq });
        }));

        expect([...verdicts].sort()).to.equal(['deferred', 'dialed']);
        expect(await db('calls').where({ tenant_id: someone.tenantId, to_number: phone }).count('* as n').first()).to.equal({ n: 3 });

        const deferred = await jobOf(ids[verdicts.indexOf('deferred')]!, phone);
        expect(deferred).to.include({ status: 'pending', next_attempt_at: at('2026-12-04T19:00:00Z') });
        expect(deferred.decisions.at(-1)).to.include({ decision: 'deferred', reason: 'max_calls_per_24h' });
    });

    it('cancels a stopped number\'s waiting jobs in every campaign of its tenant only, and the call back its call scheduled', async () => {

        clock.set('2026-12-04T15:00:00Z');
        const { db } = server.plugins.core;
        const now = clock.now();
        const phone = '+12125550901';
        const someone = await signUp(server, { plan: 'pro' });
        const stranger = await signUp(server, { plan: 'pro' });
        const [onCall, other, later] = [await campaign({}, someone), await campaign({}, someone), await campaign({}, someone)];
        const theirs = await campaign({}, stranger);

        const jobFor = async (campaignId: string, tenantId: string, number: string, fields: Record<string, unknown>, leadStatus = 'pending') => {

            const [lead] = await db('leads').insert({ tenant_id: tenantId, campaign_id: campaignId, phone_number: number, status: leadStatus }).returning('id');
            const [job] = await db('dialer_jobs').insert({ tenant_id: tenantId, campaign_id: campaignId, lead_id: lead.id, ...fields }).returning(['id', 'lead_id']);
            return job as { id: string; lead_id: string };
        };

        // The call the person asks on, with a call back the agent scheduled earlier in it

        const current = await jobFor(onCall, someone.tenantId, phone, { status: 'in_call', attempt: 1 }, 'calling');
        const callId = Crypto.randomUUID();
        await db('calls').insert({
            id: callId, tenant_id: someone.tenantId, campaign_id: onCall, lead_id: current.lead_id, job_id: current.id, attempt: 1, provider: 'simulator',
            provider_call_id: `fake-${callId}`, to_number: phone, status: 'in_progress', answered_at: now, callback_at: at('2026-12-05T15:00:00Z')
        });

        const retry = await jobFor(other, someone.tenantId, phone, { status: 'retry_scheduled', attempt: 1, next_attempt_at: at('2026-12-04T18:00:00Z') });
        const otherNumber = await jobFor(other, someone.tenantId, '+12125550902', { status: 'pending' });
        const deferred = await jobFor(later, someone.tenantId, phone, { status: 'pending', next_attempt_at: at('2026-12-05T13:00:00Z') });
        const strangers = await jobFor(theirs, stranger.tenantId, phone, { status: 'pending' });

        await honourOptOut(db, now, { tenantId: someone.tenantId, phoneNumber: phone, reason: 'take me off your list', callId });

        const state = async (job: { id: string }) => await db('dialer_jobs as j').join('leads as l', 'l.id', 'j.lead_id').where('j.id', job.id).first('j.status', 'j.next_attempt_at', 'j.last_decision', 'l.status as lead_status');
        for (const job of [retry, deferred]) {
            expect(await state(job)).to.equal({ status: 'cancelled', next_attempt_at: null, last_decision: 'cancelled', lead_status: 'dnc' });
        }

        expect(await state(otherNumber)).to.include({ status: 'pending', lead_status: 'pending' });
        expect(await state(strangers)).to.include({ status: 'pending', lead_status: 'pending' });
        expect(await db('dnc_numbers').where({ tenant_id: someone.tenantId }).select('phone_number', 'reason', 'call_id')).to.equal([{ phone_number: phone, reason: 'take me off your list', call_id: callId }]);
        expect(await db('dnc_numbers').where({ tenant_id: stranger.tenantId }).select('phone_number')).to.equal([]);

        // The call ends: no call back is scheduled from it

        await applyEvent(db, { callId, providerCallId: `fake-${callId}`, status: 'completed', timestamp: now, durationSeconds: 60, raw: {} }, now);
        expect(await state(current)).to.include({ status: 'completed', next_attempt_at: null });
    });
});


// An agent on a fake line: its turns kept, its actions noted. The TTS may hold the sentence
// that names `hold` (to act while it is being said).

const line = (options: { llm: Llm; optOutDigit?: string; hold?: string }) => {

    const done: string[] = [];
    const turns: Turn[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (holding = resolve));
    let hungUp: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (hungUp = resolve));
    let heard: SttOptions['onTranscript'] = () => undefined;

    const socket = { sampleRate: 16000, framesIn: 0, framesOut: 0, clear: () => undefined, play: () => undefined, close: () => undefined, mark: (fn: () => void) => setImmediate(fn) } as unknown as AudioSocket;

    const tts: Tts = {
        turn: ({ signal }) => {

            const texts: string[] = [];
            let finished = false;
            let wake: () => void = () => undefined;
            const more = () => new Promise<void>((resolve) => (wake = resolve));
            return {
                say: (text) => {

                    texts.push(text);
                    wake();
                },
                end: () => {

                    finished = true;
                    wake();
                },
                audio: (async function* () {

                    for (;;) {
                        const text = texts.shift();
                        if (text !== undefined) {
                            if (options.hold && text.includes(options.hold)) {
                                holding();
                                await held;
                            }

                            if (signal.aborted) {
                                return;
                            }

                            yield Buffer.alloc(640);
                        }
                        else if (finished) {
                            return;
                        }
                        else {
                            await more();
                        }
                    }
                })()
            };
        }
    };

    const stt: Stt = {
        open: (session) => {

            heard = session.onTranscript;
            return Promise.resolve({ write: () => undefined, finalize: () => undefined, close: () => Promise.resolve() });
        }
    };

    const actions: CallActions = {
        hangUp: () => {

            done.push('hang up');
            hungUp();
            return Promise.resolve();
        },
        markGoalAchieved: () => Promise.resolve(),
        scheduleCallback: () => Promise.resolve(),
        addToDoNotCall: (reason) => Promise.resolve(void done.push(`dnc ${reason}`)),
        transfer: () => Promise.resolve(),
        canTransfer: false
    };

    const agent = new Agent(socket, { script: {}, systemPrompt: 'You call for Acme.', greeting: 'Hello.', optOutDigit: options.optOutDigit, voicemail: null, hints: [] }, {
        stt,
        llm: options.llm,
        tts,
        actions,
        settings: { vad: { mode: 3, startMs: 200, stopMs: 500, minVolumeDb: -50 }, finalWaitMs: 300, bargeInMs: 500, llmTimeoutMs: 5000, maxCallMs: 60_000 },
        logger: { debug: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger,
        now: () => new Date(),
        saveTurn: (turn) => Promise.resolve(void turns.push(turn))
    });

    const said = () => turns.map((turn) => [turn.speaker, turn.text]);
    return { agent, done, said, release, reached, ended, hear: (text: string) => heard({ text, final: true, endOfTurn: true }) };
};


const replies = (chunks: LlmChunk[]): Llm => ({
    async *stream() {

        yield* chunks;
    }
});

const broken: Llm = {
    stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('The model is down')) }) })
};

const apology = 'technical trouble';


describe('opt-out on a call', () => {

    it('takes a stop request from words that can only mean one', () => {

        const stops = [
            'stop', 'Stop.', 'please stop', 'No, stop calling me!', 'okay stop stop', 'stop calling', 'Please stop calling this number.',
            'Can you stop calling me? I asked before.', 'take me off your list', 'Remove my number from your calling list please',
            'put me on your do not call list', 'Don\'t call me again', 'never call this number again', 'dont call me anymore', 'how do I unsubscribe'
        ];

        const others = [
            'don\'t stop', 'I lost my stopwatch', 'stop by the office tomorrow', 'the bus stop is near', 'please don\'t stop calling me',
            'call me tomorrow', 'can you stop talking for a second and tell me the price', 'do not call me before noon'
        ];

        for (const text of stops) {
            expect(isStopRequest(text), text).to.be.true();
        }

        for (const text of others) {
            expect(isStopRequest(text), text).to.be.false();
        }
    });

    it('tells the caller the campaign\'s own key, unless the greeting already does', () => {

        const said = (greeting: string, optOutDigit = '9') => opening(greeting, { companyName: 'Acme', optOutDigit, record: false });
        const disclosed = 'Hi, this is an AI assistant calling from Acme.';

        expect(said(`${disclosed} Say stop or press 9 to stop these calls.`)).to.equal(`${disclosed} Say stop or press 9 to stop these calls.`);
        expect(said(`${disclosed} Press 9 to stop.`)).to.equal(`${disclosed} Press 9 to stop.`);
        expect(said(`${disclosed} Press 5 to stop.`)).to.equal(`${disclosed} Press 5 to stop. To stop these calls, say stop or press 9.`);
        expect(said(`${disclosed} Press 99 to stop.`)).to.equal(`${disclosed} Press 99 to stop. To stop these calls, say stop or press 9.`);
        expect(said(`${disclosed} Press # to stop.`, '#')).to.equal(`${disclosed} Press # to stop.`);
        expect(said(`${disclosed} Say stop or press *.`, '#')).to.equal(`${disclosed} Say stop or press *. To stop these calls, say stop or press #.`);
    });

    it('says goodbye before hanging up when the model only calls the do-not-call tool', async () => {

        const call = line({ llm: replies([{ type: 'tool', call: { id: 'call_1', name: 'add_to_do_not_call', arguments: { reason: 'take me off your list' } } }]) });
        call.agent.dtmf('5');
        await call.ended;
        await call.agent.close();

        expect(call.done).to.equal(['dnc take me off your list', 'hang up']);
        expect(call.said()).to.equal([['caller', '[pressed 5]'], ['agent', optOutGoodbye]]);
    });

    it('stops the calls on the campaign\'s own key only, once', async () => {

        const call = line({ llm: replies([{ type: 'text', text: 'Sorry, which key was that?' }]), optOutDigit: '#' });
        call.agent.dtmf('9');
        call.agent.dtmf('#');
        call.agent.dtmf('#');
        await call.ended;
        await call.agent.close();

        expect(call.done).to.equal(['dnc pressed # to stop the calls', 'hang up']);
        expect(call.said().filter(([speaker]) => speaker === 'caller')).to.equal([['caller', '[pressed 9]'], ['caller', '[pressed #]']]);
    });

    it('stops the calls on the key pressed while the call is ending', async () => {

        const call = line({ llm: broken, hold: apology });
        call.agent.dtmf('5');
        await call.reached;                                                 // the apology is being said
        call.agent.dtmf('9');
        call.agent.dtmf('9');
        call.agent.dtmf('5');
        call.release();
        await call.ended;
        await call.agent.close();

        expect(call.done).to.equal(['dnc pressed 9 to stop the calls', 'hang up']);
    });

    it('stops the calls on a stop said while the call is ending', async () => {

        const call = line({ llm: broken, hold: apology });
        await call.agent.start(16000);
        call.agent.dtmf('5');
        await call.reached;
        call.hear('please stop calling me');
        call.release();
        await call.ended;
        await call.agent.close();

        expect(call.done).to.equal(['dnc please stop calling me', 'hang up']);
        expect(call.said()).to.include([['caller', 'please stop calling me']]);
    });
});
