import Crypto from 'crypto';
import { Readable } from 'stream';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';

import type { Clock } from '../core/plugin';
import { importContacts } from '../plugins/contacts/import';
import { dial, type DialContext } from '../plugins/dialer/dial';
import { Gate } from '../plugins/dialer/gate';
import { holidayUntil } from '../plugins/dialer/holidays';
import { callsAllowAt, plan, strictest } from '../plugins/dialer/rules';
import { Slots } from '../plugins/dialer/slots';
import type { PlaceCallRequest, Telephony } from '../plugins/dialer/telephony';
import { localHours } from '../plugins/dialer/windows';
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

    const campaign = async (fields: Record<string, unknown> = {}) => {

        const res = await inject('POST', '/api/v1/campaigns', { name: 'Compliance', max_concurrent_calls: 10, ...fields });
        expect(res.statusCode, res.payload).to.equal(201);
        return (res.result as { id: string }).id;
    };

    const bulk = async (campaignId: string, contacts: object[]) => {

        const res = await inject('POST', '/api/v1/contacts/bulk', { campaign_id: campaignId, contacts });
        expect(res.statusCode, res.payload).to.equal(200);
        return res.result as Record<string, any>;
    };

    const start = async (campaignId: string) => {

        const res = await inject('POST', `/api/v1/campaigns/${campaignId}/start`);
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

        const other = await signUp(server, { plan: 'pro' });
        expect((await inject('GET', `/api/v1/campaigns/${id}/jobs/${job.id}`, undefined, other)).statusCode).to.equal(404);
        const missing = await inject('GET', `/api/v1/campaigns/${id}/jobs/00000000-0000-4000-8000-000000000000`);
        expect(missing.statusCode).to.equal(404);
        expect(missing.result).to.equal({ detail: 'Job not found' });
    });
});
