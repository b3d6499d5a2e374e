import Crypto from 'crypto';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';

import type { Db } from '../core/db';
import * as Migration from '../plugins/analytics/migrations/20261204001200_abandonment';
import * as Outcomes from '../plugins/analytics/outcomes';
import { firstAudio, percent, windows } from '../plugins/dialer/abandonment';
import { applyEvent } from '../plugins/dialer/events';
import type { CallEvent } from '../plugins/dialer/telephony';
import { startServer, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


type Owner = Awaited<ReturnType<typeof signUp>>;


// A call as the test writes it: ended unless a status says otherwise; answered when a person or a
// machine took it, `answeredAfter` ms after it was placed (5 s by default), talking `seconds` (one
// minute by default), billed by the started minute; its first audio measured when `abandoned` is
// given, and a machine found when `machine` says so

interface Spec {
    at: string;
    outcome: string | null;
    seconds?: number;
    status?: string;
    answeredAfter?: number;
    abandoned?: boolean | null;
    machine?: boolean;
}


const answeredOutcomes = new Set(['goal_achieved', 'goal_not_achieved', 'voicemail', 'answered']);

const isAnswered = (spec: Spec) => answeredOutcomes.has(spec.outcome ?? '');

const secondsOf = (spec: Spec) => (isAnswered(spec) ? spec.seconds ?? 60 : 0);

const billedOf = (spec: Spec) => Math.ceil(secondsOf(spec) / 60);


let phones = 0;


const addCalls = async (db: Db, owner: Owner, campaignId: string, specs: Spec[]) => {

    const numbers = specs.map(() => `+1212${String(++phones).padStart(7, '0')}`);
    const leads: Array<{ id: string }> = await db('leads').insert(numbers.map((phone_number) => ({ tenant_id: owner.tenantId, campaign_id: campaignId, phone_number, status: 'contacted' }))).returning('id');
    const jobs: Array<{ id: string }> = await db('dialer_jobs').insert(leads.map(({ id }) => ({ tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: id, status: 'completed', attempt: 1 }))).returning('id');
    const ids = specs.map(() => Crypto.randomUUID());
    await db('calls').insert(specs.map((spec, i) => {

        const at = new Date(spec.at);
        return {
            id: ids[i], tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: leads[i]!.id, job_id: jobs[i]!.id, attempt: 1,
            provider: 'simulator', provider_call_id: `test-${ids[i]}`, to_number: numbers[i], status: spec.status ?? 'completed', outcome: spec.outcome,
            answered_at: isAnswered(spec) ? new Date(at.getTime() + (spec.answeredAfter ?? 5000)) : null, duration_seconds: secondsOf(spec), billed_minutes: billedOf(spec),
            abandoned: spec.abandoned ?? null, first_audio_ms: typeof spec.abandoned === 'boolean' ? (spec.abandoned ? 2400 : 700) : null, machine: spec.machine ?? false,
            created_at: at, updated_at: at
        };
    }));

    return ids;
};


const campaignOf = async (server: Server, owner: Owner, name: string, status?: string) => {

    const res = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name } });
    expect(res.statusCode, res.payload).to.equal(201);
    const id = (res.result as { id: string }).id;
    if (status) {
        await server.plugins.core.db('campaigns').where({ id }).update({ status });
    }

    return id;
};


// The server's clock: real time (the tokens' expiry is checked against it), or a moment a test holds

const now = new Date('2026-03-12T15:20:00Z');

let held: Date | null = null;

const clock = { now: () => held ?? new Date() };


describe('analytics', () => {

    let harness: Harness;
    let server: Server;
    let db: Db;
    let owner: Owner;
    let other: Owner;
    let first: string;
    let second: string;
    let othersCampaign: string;

    const get = async (url: string, who: Owner = owner) => {

        const res = await server.inject({ method: 'GET', url: `/api/v1${url}`, headers: who.headers });
        return { status: res.statusCode, body: res.result as Record<string, any>, payload: res.payload };
    };

    const ok = async (url: string, who: Owner = owner) => {

        const res = await get(url, who);
        expect(res.status, res.payload).to.equal(200);
        return res.body;
    };

    const starts = (body: Record<string, any>) => (body.buckets as Array<{ start: string }>).map((bucket) => bucket.start);

    const totals = (body: Record<string, any>) => (body.buckets as Array<{ total_calls: number }>).map((bucket) => bucket.total_calls);

    // The kept counts as they should be, made from the calls another way: each ended call counted
    // where it was placed, and its answer, when live-answered, where it was answered

    const counted = (grain: string, keys: string[]) => `
        SELECT tenant_id, ${keys.join(', ')}, date_bin('${grain}', p.at, TIMESTAMPTZ 'epoch'), sum(p.n)::integer AS calls, sum(p.n_answered)::integer AS answered,
            sum(p.talk)::bigint AS answered_seconds, sum(p.minutes)::bigint AS billed_minutes, sum(p.n_live)::integer AS live_answered, sum(p.n_abandoned)::integer AS abandoned
        FROM calls c CROSS JOIN LATERAL (VALUES
            (c.created_at, 1, CASE WHEN c.answered_at IS NULL THEN 0 ELSE 1 END, CASE WHEN c.answered_at IS NULL THEN 0 ELSE c.duration_seconds END, c.billed_minutes, 0, 0),
            (COALESCE(c.answered_at, c.created_at), 0, 0, 0, 0, 1, CASE WHEN c.abandoned THEN 1 ELSE 0 END)
        ) AS p (at, n, n_answered, talk, minutes, n_live, n_abandoned)
        WHERE c.status NOT IN ('dialing', 'ringing', 'in_progress') AND (p.n = 1 OR (c.abandoned IS NOT NULL AND NOT c.machine AND c.outcome IS DISTINCT FROM 'voicemail'))
        GROUP BY ${Array.from({ length: keys.length + 2 }, (_, i) => i + 1).join(', ')}`;

    const fresh = counted('15 minutes', ['campaign_id']);

    const kept = 'SELECT tenant_id, campaign_id, quarter_hour, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned FROM calls_per_quarter_hour';

    const freshDays = counted('1 day', ['campaign_id', 'COALESCE(outcome, \'unknown\')']);

    const keptDays = 'SELECT tenant_id, campaign_id, outcome, day, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned FROM calls_per_day';

    // Rows in one and not the other, both ways

    const differences = async () => {

        const { rows: [row] } = await db.raw(`
            SELECT (SELECT count(*) FROM ((${fresh} EXCEPT ${kept}) UNION ALL (${kept} EXCEPT ${fresh})) a)
                + (SELECT count(*) FROM ((${freshDays} EXCEPT ${keptDays}) UNION ALL (${keptDays} EXCEPT ${freshDays})) b) AS n`);
        return Number(row.n);
    };

    const event = (call: { id: string }, status: CallEvent['status'], extra: Partial<CallEvent> = {}): CallEvent => ({
        callId: call.id, attempt: 1, providerCallId: `test-${call.id}`, status, timestamp: now, raw: { status }, ...extra
    });

    before(async () => {

        harness = await startServer({ role: 'api', adminEmails: ['analytics.admin@example.com'] }, { clock });
        server = harness.server;
        db = server.plugins.core.db;
        owner = await signUp(server);
        other = await signUp(server);

        first = await campaignOf(server, owner, 'First', 'running');
        second = await campaignOf(server, owner, 'Second');
        await campaignOf(server, owner, 'Gone', 'running').then((id) => db('campaigns').where({ id }).update({ deleted_at: now }));
        othersCampaign = await campaignOf(server, other, 'Theirs', 'running');

        await addCalls(db, owner, first, [
            { at: '2026-03-02T09:00:00Z', outcome: 'goal_achieved', seconds: 120 },
            { at: '2026-03-02T09:05:00Z', outcome: 'goal_not_achieved', seconds: 30 },
            { at: '2026-03-02T09:20:00Z', outcome: 'no_answer' },
            { at: '2026-03-03T00:10:00Z', outcome: 'busy' },
            { at: '2026-03-05T12:14:59.500Z', outcome: 'rejected' },
            { at: '2026-03-05T12:30:00Z', outcome: 'answered', status: 'in_progress' }        // live: not counted yet
        ]);

        await addCalls(db, owner, second, [
            { at: '2026-03-02T13:07:30Z', outcome: 'voicemail', seconds: 21 },
            { at: '2026-03-03T23:59:59Z', outcome: 'failed' },
            { at: '2026-03-05T12:00:00Z', outcome: 'goal_achieved', seconds: 90 }
        ]);

        // Another tenant's calls at the same moments, never counted for the owner

        await addCalls(db, other, othersCampaign, [
            { at: '2026-03-02T09:00:00Z', outcome: 'goal_achieved', seconds: 600 },
            { at: '2026-03-02T09:01:00Z', outcome: 'goal_achieved', seconds: 600 },
            { at: '2026-03-03T12:00:00Z', outcome: 'busy' }
        ]);
    });

    after(() => harness.cleanup());


    describe('GET /dashboard/stats', () => {

        it('counts the tenant\'s ended calls in the reference\'s shape', async () => {

            // 8 ended: 3 conversations, 4 that reached no one, a voicemail; talk 120 + 30 + 21 + 90 over 4 answered

            expect(await ok('/dashboard/stats')).to.equal({ total_calls: 8, successful_calls: 3, failed_calls: 4, average_duration: 65.3, active_campaigns: 1, abandonment_rate: 0 });
            expect(await ok('/dashboard/stats', other)).to.equal({ total_calls: 3, successful_calls: 2, failed_calls: 1, average_duration: 600, active_campaigns: 1, abandonment_rate: 0 });
        });

        it('counts only the range, from inclusive and to exclusive', async () => {

            expect(await ok('/dashboard/stats?from=2026-03-02T09:05:00Z&to=2026-03-03T00:10:00Z')).to.equal({ total_calls: 3, successful_calls: 1, failed_calls: 1, average_duration: 25.5, active_campaigns: 1, abandonment_rate: 0 });

            // Ends inside quarter hours and whole days between: every piece of the range counted once

            expect(await ok('/dashboard/stats?from=2026-03-02T13:07:31Z&to=2026-03-05T12:14:59.600Z')).to.equal({ total_calls: 4, successful_calls: 1, failed_calls: 3, average_duration: 90, active_campaigns: 1, abandonment_rate: 0 });
            expect(await ok('/dashboard/stats?from=2026-03-02T13:07:30Z&to=2026-03-05T12:14:59.500Z')).to.equal({ total_calls: 4, successful_calls: 1, failed_calls: 2, average_duration: 55.5, active_campaigns: 1, abandonment_rate: 0 });
            expect(await ok('/dashboard/stats?from=2026-03-06')).to.equal({ total_calls: 0, successful_calls: 0, failed_calls: 0, average_duration: 0, active_campaigns: 1, abandonment_rate: 0 });
            expect(await ok('/dashboard/stats?to=2026-03-03')).to.include({ total_calls: 4 });

            // An offset's + sent unencoded arrives as a space, and is read as the +

            expect(await ok('/dashboard/stats?from=2026-03-02T14:35:00%2B05:30&to=2026-03-02T14:50:00+05:30')).to.include({ total_calls: 1, successful_calls: 1 });
        });

        it('refuses a range that ends before it starts, and malformed moments', async () => {

            for (const query of ['from=2026-03-05&to=2026-03-02', 'from=2026-03-05T00:00:00Z&to=2026-03-05T00:00:00Z']) {
                const res = await get(`/dashboard/stats?${query}`);
                expect(res.status, query).to.equal(400);
                expect(res.body).to.equal({ detail: '"from" must be before "to"' });
            }

            for (const query of ['from=2026-02-30', 'from=2026-13-01', 'from=2026-04-00', 'from=yesterday', 'to=2026-03-05T25:00:00Z', 'to=2026-03-05T10:60:00Z', 'to=2026-03-05T10:00:60Z', 'to=2026-03-05T10:00:00%2B25:00', 'to=2026-03-05T10:00:00 05', 'campaign_id=x']) {
                const res = await get(`/dashboard/stats?${query}`);
                expect(res.status, query).to.equal(400);
                expect(res.body.detail, query).to.match(/^"(from|to|campaign_id)" (must be an ISO 8601 date|is not allowed)/);
            }
        });
    });


    describe('GET /analytics/calls', () => {

        it('counts day buckets, the empty ones included', async () => {

            const body = await ok('/analytics/calls?from=2026-03-01&to=2026-03-06');
            expect(body).to.include({ bucket: 'day', timezone: 'UTC', campaign_id: null });
            expect(body.from).to.equal(new Date('2026-03-01T00:00:00Z'));
            expect(body.to).to.equal(new Date('2026-03-06T00:00:00Z'));
            expect(body.buckets).to.equal([
                { start: '2026-03-01T00:00:00+00:00', total_calls: 0, answered_calls: 0, answered_rate: 0, average_duration: 0, minutes_used: 0, live_answered: 0, abandoned: 0 },
                { start: '2026-03-02T00:00:00+00:00', total_calls: 4, answered_calls: 3, answered_rate: 0.75, average_duration: 57, minutes_used: 4, live_answered: 0, abandoned: 0 },
                { start: '2026-03-03T00:00:00+00:00', total_calls: 2, answered_calls: 0, answered_rate: 0, average_duration: 0, minutes_used: 0, live_answered: 0, abandoned: 0 },
                { start: '2026-03-04T00:00:00+00:00', total_calls: 0, answered_calls: 0, answered_rate: 0, average_duration: 0, minutes_used: 0, live_answered: 0, abandoned: 0 },
                { start: '2026-03-05T00:00:00+00:00', total_calls: 2, answered_calls: 1, answered_rate: 0.5, average_duration: 90, minutes_used: 2, live_answered: 0, abandoned: 0 }
            ]);
        });

        it('counts hours, and only the part of the first and last buckets inside the range', async () => {

            const body = await ok('/analytics/calls?bucket=hour&from=2026-03-02T09:04:00Z&to=2026-03-02T13:07:31Z');
            expect(starts(body)).to.equal(['2026-03-02T09:00:00+00:00', '2026-03-02T10:00:00+00:00', '2026-03-02T11:00:00+00:00', '2026-03-02T12:00:00+00:00', '2026-03-02T13:00:00+00:00']);
            expect(totals(body)).to.equal([2, 0, 0, 0, 1]);
            expect(body.buckets[0]).to.equal({ start: '2026-03-02T09:00:00+00:00', total_calls: 2, answered_calls: 1, answered_rate: 0.5, average_duration: 30, minutes_used: 1, live_answered: 0, abandoned: 0 });

            const thirds = await ok('/analytics/calls?bucket=hour&from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00Z');
            expect(thirds.buckets).to.equal([{ start: '2026-03-02T09:00:00+00:00', total_calls: 3, answered_calls: 2, answered_rate: 0.6667, average_duration: 75, minutes_used: 3, live_answered: 0, abandoned: 0 }]);
        });

        it('counts weeks from Monday, and one campaign\'s calls', async () => {

            const weeks = await ok('/analytics/calls?bucket=week&from=2026-03-01&to=2026-03-16');
            expect(starts(weeks)).to.equal(['2026-02-23T00:00:00+00:00', '2026-03-02T00:00:00+00:00', '2026-03-09T00:00:00+00:00']);
            expect(totals(weeks)).to.equal([0, 8, 0]);

            const filtered = await ok(`/analytics/calls?bucket=week&from=2026-03-01&to=2026-03-16&campaign_id=${second}`);
            expect(filtered.campaign_id).to.equal(second);
            expect(totals(filtered)).to.equal([0, 3, 0]);
            expect(filtered.buckets[1]).to.include({ answered_calls: 2, minutes_used: 3, average_duration: 55.5 });
        });

        it('defaults to the last 30 days up to now, in day buckets', async () => {

            held = now;
            const body = await ok('/analytics/calls').finally(() => (held = null));
            expect(body.buckets).to.have.length(30);
            expect(body.buckets[0].start).to.equal('2026-02-11T00:00:00+00:00');
            expect(body.buckets[29].start).to.equal('2026-03-12T00:00:00+00:00');
            expect(body.to).to.equal(now);
            expect(totals(body).reduce((sum: number, count: number) => sum + count, 0)).to.equal(8);

            held = now;
            const hours = await ok('/analytics/calls?bucket=hour');
            const weeks = await ok('/analytics/calls?bucket=week').finally(() => (held = null));
            expect(hours.buckets).to.have.length(48);
            expect(hours.buckets[47].start).to.equal('2026-03-12T15:00:00+00:00');
            expect(weeks.buckets).to.have.length(13);
            expect(weeks.buckets[0].start).to.equal('2025-12-15T00:00:00+00:00');
        });

        it('follows New York across its daylight-saving changes', async () => {

            const tenant = await signUp(server);
            const campaign = await campaignOf(server, tenant, 'New York');
            await addCalls(db, tenant, campaign, [
                { at: '2026-03-08T04:59:00Z', outcome: 'busy' },             // 23:59 EST, March 7
                { at: '2026-03-08T05:00:00Z', outcome: 'busy' },             // 00:00 EST, March 8
                { at: '2026-03-08T06:30:00Z', outcome: 'busy' },             // 01:30 EST
                { at: '2026-03-08T07:15:00Z', outcome: 'busy' },             // 03:15 EDT: 02:00 never came
                { at: '2026-03-09T03:59:00Z', outcome: 'busy' },             // 23:59 EDT, March 8
                { at: '2026-03-09T04:00:00Z', outcome: 'busy' },             // 00:00 EDT, March 9
                { at: '2026-11-01T05:30:00Z', outcome: 'busy' },             // 01:30 EDT
                { at: '2026-11-01T06:30:00Z', outcome: 'busy' },             // 01:30 EST, the hour again
                { at: '2026-11-02T04:30:00Z', outcome: 'busy' }              // 23:30 EST, November 1
            ]);

            const zone = 'timezone=America/New_York';
            const days = await ok(`/analytics/calls?${zone}&from=2026-03-07&to=2026-03-10`, tenant);
            expect(days.from).to.equal(new Date('2026-03-07T05:00:00Z'));
            expect(days.to).to.equal(new Date('2026-03-10T04:00:00Z'));
            expect(starts(days)).to.equal(['2026-03-07T00:00:00-05:00', '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00']);
            expect(totals(days)).to.equal([1, 4, 1]);

            const spring = await ok(`/analytics/calls?${zone}&bucket=hour&from=2026-03-08T00:00&to=2026-03-08T05:00`, tenant);
            expect(starts(spring)).to.equal(['2026-03-08T00:00:00-05:00', '2026-03-08T01:00:00-05:00', '2026-03-08T03:00:00-04:00', '2026-03-08T04:00:00-04:00']);
            expect(totals(spring)).to.equal([1, 1, 1, 0]);

            const autumn = await ok(`/analytics/calls?${zone}&bucket=hour&from=2026-11-01T00:00:00-04:00&to=2026-11-01T03:00:00-05:00`, tenant);
            expect(starts(autumn)).to.equal(['2026-11-01T00:00:00-04:00', '2026-11-01T01:00:00-04:00', '2026-11-01T01:00:00-05:00', '2026-11-01T02:00:00-05:00']);
            expect(totals(autumn)).to.equal([0, 1, 1, 0]);

            const longDay = await ok(`/analytics/calls?${zone}&from=2026-11-01&to=2026-11-02`, tenant);
            expect(longDay.buckets).to.equal([{ start: '2026-11-01T00:00:00-04:00', total_calls: 3, answered_calls: 0, answered_rate: 0, average_duration: 0, minutes_used: 0, live_answered: 0, abandoned: 0 }]);

            // The same calls in UTC days

            expect(totals(await ok('/analytics/calls?from=2026-03-07&to=2026-03-10', tenant))).to.equal([0, 4, 2]);
        });

        it('counts in the tenant\'s zone, half-hour offsets included, unless the request names another', async () => {

            const tenant = await signUp(server);
            await db('tenants').where({ id: tenant.tenantId }).update({ timezone: 'Asia/Kolkata' });
            const campaign = await campaignOf(server, tenant, 'Kolkata');
            await addCalls(db, tenant, campaign, [
                { at: '2026-03-02T18:29:00Z', outcome: 'no_answer' },        // 23:59 IST, March 2
                { at: '2026-03-02T18:30:00Z', outcome: 'no_answer' },        // 00:00 IST, March 3
                { at: '2026-03-02T19:29:59Z', outcome: 'no_answer' },        // 00:59:59 IST
                { at: '2026-03-02T19:30:00Z', outcome: 'no_answer' }         // 01:00 IST
            ]);

            const days = await ok('/analytics/calls?from=2026-03-02&to=2026-03-04', tenant);
            expect(days.timezone).to.equal('Asia/Kolkata');
            expect(starts(days)).to.equal(['2026-03-02T00:00:00+05:30', '2026-03-03T00:00:00+05:30']);
            expect(totals(days)).to.equal([1, 3]);

            const hours = await ok('/analytics/calls?bucket=hour&from=2026-03-03T00:00&to=2026-03-03T02:00', tenant);
            expect(starts(hours)).to.equal(['2026-03-03T00:00:00+05:30', '2026-03-03T01:00:00+05:30']);
            expect(totals(hours)).to.equal([2, 1]);

            const utc = await ok('/analytics/calls?timezone=UTC&from=2026-03-02&to=2026-03-04', tenant);
            expect(starts(utc)).to.equal(['2026-03-02T00:00:00+00:00', '2026-03-03T00:00:00+00:00']);
            expect(totals(utc)).to.equal([4, 0]);

            // Dates in the dashboard's range are the tenant's days too

            expect(await ok('/dashboard/stats?from=2026-03-03&to=2026-03-04', tenant)).to.include({ total_calls: 3, failed_calls: 3 });
        });

        it('refuses bad buckets, zones, ranges and campaigns', async () => {

            const refused = async (query: string, status: number, detail: string | RegExp) => {

                const res = await get(`/analytics/calls?${query}`);
                expect(res.status, query).to.equal(status);
                if (typeof detail === 'string') {
                    expect(res.body.detail, query).to.equal(detail);
                }
                else {
                    expect(res.body.detail, query).to.match(detail);
                }
            };

            await refused('bucket=minute', 400, '"bucket" must be one of [hour, day, week]');
            await refused('timezone=US/Pacific-New&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z', 400, '"timezone" must be an IANA time zone such as America/New_York');   // gone from the database's zones
            for (const zone of ['Mars/Olympus', '%2B05:30', 'UTC;DROP', '']) {
                await refused(`timezone=${zone}`, 400, /^"timezone" (must be an IANA time zone|is not allowed to be empty)/);
            }

            await refused('from=2026-03-05&to=2026-03-01', 400, '"from" must be before "to"');
            await refused('from=2099-03-13', 400, '"from" must be before "to"');                                   // after now, the default end
            await refused('bucket=hour&from=2026-01-01&to=2026-03-01', 400, 'The range holds more than 1000 hour buckets: shorten it or choose a longer bucket');
            await refused('days=3', 400, '"days" is not allowed');
            await refused(`campaign_id=${Crypto.randomUUID()}`, 404, 'Campaign not found');
            await refused(`campaign_id=${othersCampaign}`, 404, 'Campaign not found');
            expect((await get('/analytics/calls?bucket=hour&from=2026-01-01&to=2026-02-11')).status).to.equal(200);   // 984 hours
        });
    });


    describe('GET /analytics/outcomes', () => {

        it('breaks the calls down by outcome, with shares that add up to 1', async () => {

            const body = await ok('/analytics/outcomes');
            expect(body).to.equal({
                campaign_id: null,
                from: null,
                to: null,
                total: 8,
                outcomes: [
                    { outcome: 'goal_achieved', count: 2, share: 0.25 },
                    { outcome: 'busy', count: 1, share: 0.125 },
                    { outcome: 'failed', count: 1, share: 0.125 },
                    { outcome: 'goal_not_achieved', count: 1, share: 0.125 },
                    { outcome: 'no_answer', count: 1, share: 0.125 },
                    { outcome: 'rejected', count: 1, share: 0.125 },
                    { outcome: 'voicemail', count: 1, share: 0.125 }
                ]
            });

            const thirds = await ok(`/analytics/outcomes?campaign_id=${second}`);
            expect(thirds.total).to.equal(3);
            expect(thirds.outcomes).to.equal([
                { outcome: 'failed', count: 1, share: 0.3334 },
                { outcome: 'goal_achieved', count: 1, share: 0.3333 },
                { outcome: 'voicemail', count: 1, share: 0.3333 }
            ]);
        });

        it('takes the same range and campaign filters', async () => {

            const body = await ok(`/analytics/outcomes?campaign_id=${first}&from=2026-03-02T09:05:00Z&to=2026-03-05T12:14:59.500Z`);
            expect(body).to.include({ campaign_id: first, total: 3 });
            expect(body.from).to.equal(new Date('2026-03-02T09:05:00Z'));
            expect(body.outcomes.map((row: { outcome: string }) => row.outcome)).to.equal(['busy', 'goal_not_achieved', 'no_answer']);

            expect(await ok('/analytics/outcomes?from=2026-04-01')).to.include({ total: 0, outcomes: [] });
            expect(await ok('/analytics/outcomes?to=2026-03-02T09:01:00Z')).to.include({ total: 1, outcomes: [{ outcome: 'goal_achieved', count: 1, share: 1 }] });
            expect((await get(`/analytics/outcomes?campaign_id=${othersCampaign}`)).status).to.equal(404);
            expect((await get('/analytics/outcomes?to=2026-03-01&from=2026-03-02')).status).to.equal(400);
        });
    });


    it('rounds shares to four places that add up to 1', () => {

        expect(Outcomes.shares([1, 1, 1])).to.equal([0.3334, 0.3333, 0.3333]);
        expect(Outcomes.shares([1, 2, 1, 2])).to.equal([0.1667, 0.3333, 0.1667, 0.3333]);
        expect(Outcomes.shares([2, 1, 1, 1, 1, 1])).to.equal([0.2857, 0.1429, 0.1429, 0.1429, 0.1428, 0.1428]);           // .14 of 2/7 is the smallest remainder
        expect(Outcomes.shares([9999, 1])).to.equal([0.9999, 0.0001]);
        expect(Outcomes.shares([99_999, 1])).to.equal([1, 0]);
        expect(Outcomes.shares([0, 0])).to.equal([0, 0]);
        expect(Outcomes.shares([])).to.equal([]);
    });


    // Many calls at random moments: the answers equal what the test counts from its own list

    describe('against a count of the calls themselves', () => {

        let tenant: Owner;
        const specs: Array<Spec & { campaign: string }> = [];
        const outcomes = ['goal_achieved', 'goal_not_achieved', 'voicemail', 'busy', 'no_answer', 'failed', 'not_placed'];

        before(async () => {

            tenant = await signUp(server);
            const campaigns = [await campaignOf(server, tenant, 'A'), await campaignOf(server, tenant, 'B')];
            let seed = 42;
            const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
            for (let i = 0; i < 400; ++i) {
                const at = new Date(Date.parse('2026-02-20T00:00:00Z') + Math.floor(random() * 20 * 86400) * 1000 + Math.floor(random() * 1000));
                specs.push({ at: at.toISOString(), outcome: outcomes[Math.floor(random() * outcomes.length)]!, seconds: Math.floor(random() * 600), campaign: campaigns[i % 2]! });
            }

            for (const campaign of campaigns) {
                await addCalls(db, tenant, campaign, specs.filter((spec) => spec.campaign === campaign));
            }
        });

        const within = (from: string, to: string, campaign?: string) => specs.filter((spec) => spec.at >= new Date(from).toISOString() && spec.at < new Date(to).toISOString() && (!campaign || spec.campaign === campaign));

        it('totals any range, whatever its ends', async () => {

            for (const [from, to] of [['2026-02-20T07:13:09.123Z', '2026-03-03T16:59:59.999Z'], ['2026-02-25T00:00:00Z', '2026-02-25T00:14:00Z'], ['2026-02-21T23:50:00Z', '2026-02-23T00:05:00Z']]) {
                const expected = within(from!, to!);
                const stats = await ok(`/dashboard/stats?from=${from}&to=${to}`, tenant);
                expect(stats.total_calls, from).to.equal(expected.length);
                expect(stats.successful_calls).to.equal(expected.filter((spec) => ['goal_achieved', 'goal_not_achieved'].includes(spec.outcome!)).length);
                expect(stats.failed_calls).to.equal(expected.filter((spec) => ['busy', 'no_answer', 'failed', 'not_placed'].includes(spec.outcome!)).length);
                const answered = expected.filter(isAnswered);
                expect(stats.average_duration).to.equal(answered.length ? Math.round(answered.reduce((sum, spec) => sum + secondsOf(spec), 0) / answered.length * 10) / 10 : 0);

                const breakdown = await ok(`/analytics/outcomes?from=${from}&to=${to}`, tenant);
                expect(breakdown.total).to.equal(expected.length);
                for (const row of breakdown.outcomes) {
                    expect(row.count).to.equal(expected.filter((spec) => spec.outcome === row.outcome).length);
                }

                expect(Math.round(breakdown.outcomes.reduce((sum: number, row: { share: number }) => sum + row.share * 10_000, 0))).to.equal(expected.length ? 10_000 : 0);
            }
        });

        it('buckets by the zone\'s calendar', async () => {

            for (const zone of ['America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe']) {
                const body = await ok(`/analytics/calls?timezone=${zone}&from=2026-02-21T00:00:00Z&to=2026-03-08T13:20:00Z&campaign_id=${specs[1]!.campaign}`, tenant);
                const localDay = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
                const expected = new Map<string, Spec[]>();
                for (const spec of within('2026-02-21T00:00:00Z', '2026-03-08T13:20:00Z', specs[1]!.campaign)) {
                    const day = localDay.format(new Date(spec.at));
                    expected.set(day, [...expected.get(day) ?? [], spec]);
                }

                for (const bucket of body.buckets) {
                    const day = expected.get(bucket.start.slice(0, 10)) ?? [];
                    expect(bucket.total_calls, `${zone} ${bucket.start}`).to.equal(day.length);
                    expect(bucket.answered_calls).to.equal(day.filter(isAnswered).length);
                    expect(bucket.minutes_used).to.equal(day.reduce((sum, spec) => sum + billedOf(spec), 0));
                    expected.delete(bucket.start.slice(0, 10));
                }

                expect([...expected.keys()]).to.equal([]);
            }
        });
    });


    // Abandoned calls: live-answered ones (the agent's audio measured, no machine) whose agent audio
    // started later than 2 s after the answer, counted by the answer

    describe('abandonment', () => {

        let tenant: Owner;
        let rival: Owner;
        let busy: string;
        let quiet: string;
        let silent: string;
        let rivals: string;
        let liveCall: string;

        // At the held now, 2026-03-12T15:20:00Z, the 30 days start at 2026-02-10T15:20:00Z and the
        // 24 hours at 2026-03-11T15:20:00Z

        const heldOk = async (url: string, who: Owner = tenant) => {

            held = now;
            return await ok(url, who).finally(() => (held = null));
        };

        const campaignStats = async (campaignId: string, who: Owner = tenant) => {

            held = now;
            const stats = await ok(`/campaigns/${campaignId}/stats`, who).finally(() => (held = null));
            return { abandonment_rate_30d: stats.abandonment_rate_30d, abandonment_rate_24h: stats.abandonment_rate_24h };
        };

        before(async () => {

            tenant = await signUp(server);
            rival = await signUp(server);
            busy = await campaignOf(server, tenant, 'Busy');
            quiet = await campaignOf(server, tenant, 'Quiet');
            silent = await campaignOf(server, tenant, 'Silent');
            rivals = await campaignOf(server, rival, 'Rival');

            const busyCalls: Spec[] = [
                { at: '2026-02-10T15:19:50Z', outcome: 'goal_not_achieved', abandoned: true },           // answered 15:19:55: before the 30 days
                { at: '2026-02-10T15:19:57Z', outcome: 'goal_not_achieved', abandoned: true },           // placed before them, answered inside
                { at: '2026-02-20T10:00:00Z', outcome: 'goal_achieved', abandoned: false },
                { at: '2026-03-05T10:00:00Z', outcome: 'voicemail', abandoned: true, machine: true },    // machines are not live answers
                { at: '2026-03-05T10:01:00Z', outcome: 'goal_not_achieved', abandoned: true, machine: true },
                { at: '2026-03-11T15:19:50Z', outcome: 'goal_not_achieved', abandoned: false },          // answered before the 24 hours
                { at: '2026-03-11T15:19:58Z', outcome: 'goal_not_achieved', abandoned: true },           // placed before them, answered inside
                { at: '2026-03-12T10:00:00Z', outcome: 'goal_achieved', abandoned: false },
                { at: '2026-03-12T10:05:00Z', outcome: 'goal_achieved' }                                 // not measured
            ];

            const quietCalls: Spec[] = [
                { at: '2026-01-15T12:00:00Z', outcome: 'goal_achieved', abandoned: true },
                { at: '2026-03-11T23:59:58Z', outcome: 'goal_achieved', abandoned: true },               // answered in the next quarter hour and day
                { at: '2026-03-12T09:00:00Z', outcome: 'goal_not_achieved', abandoned: true },
                { at: '2026-03-12T09:10:00Z', outcome: 'goal_not_achieved', abandoned: false }
            ];

            await addCalls(db, tenant, busy, busyCalls);
            await addCalls(db, tenant, quiet, quietCalls);
            [liveCall] = await addCalls(db, tenant, busy, [{ at: '2026-03-12T11:00:00Z', outcome: 'answered', status: 'in_progress', abandoned: true }]);

            // Another tenant's calls at the same moments, every one abandoned

            await addCalls(db, rival, rivals, [...busyCalls, ...quietCalls].map((spec) => ({ ...spec, abandoned: true, machine: false, outcome: 'goal_achieved' })));
        });

        it('gives each campaign its counts over the range and its rates over 30 days and 24 hours', async () => {

            expect(await heldOk('/analytics/abandonment')).to.equal({
                campaign_id: null,
                from: null,
                to: null,
                live_answered: 10,
                abandoned: 6,
                abandonment_rate: 60,
                campaigns: [
                    { campaign_id: quiet, name: 'Quiet', live_answered: 4, abandoned: 3, abandonment_rate: 75, abandonment_rate_30d: 66.67, abandonment_rate_24h: 66.67 },
                    { campaign_id: busy, name: 'Busy', live_answered: 6, abandoned: 3, abandonment_rate: 50, abandonment_rate_30d: 40, abandonment_rate_24h: 50 }
                ]
            });

            // The rival sees its own calls only

            const theirs = await heldOk('/analytics/abandonment', rival);
            expect(theirs).to.include({ live_answered: 13, abandoned: 13, abandonment_rate: 100 });
            expect(theirs.campaigns).to.equal([{ campaign_id: rivals, name: 'Rival', live_answered: 13, abandoned: 13, abandonment_rate: 100, abandonment_rate_30d: 100, abandonment_rate_24h: 100 }]);
            expect((await get(`/analytics/abandonment?campaign_id=${rivals}`)).status).to.equal(404);
        });

        it('counts a range by the answers, whatever its ends', async () => {

            // Ends inside quarter hours, and whole days between: the first answer is placed before the range

            const body = await heldOk('/analytics/abandonment?from=2026-02-10T15:19:56Z&to=2026-03-11T15:20:00Z');
            expect(body).to.include({ live_answered: 3, abandoned: 1, abandonment_rate: 33.33 });
            expect(body.from).to.equal(new Date('2026-02-10T15:19:56Z'));
            expect(body.campaigns).to.equal([
                { campaign_id: quiet, name: 'Quiet', live_answered: 0, abandoned: 0, abandonment_rate: 0, abandonment_rate_30d: 66.67, abandonment_rate_24h: 66.67 },
                { campaign_id: busy, name: 'Busy', live_answered: 3, abandoned: 1, abandonment_rate: 33.33, abandonment_rate_30d: 40, abandonment_rate_24h: 50 }
            ]);

            // Whole quarter hours, and one campaign; one with no live answers is listed when asked for

            const one = await heldOk(`/analytics/abandonment?from=2026-03-11T23:00:00Z&to=2026-03-12T09:05:00Z&campaign_id=${quiet}`);
            expect(one).to.include({ campaign_id: quiet, live_answered: 2, abandoned: 2, abandonment_rate: 100 });
            expect(one.campaigns).to.have.length(1);
            expect(await heldOk(`/analytics/abandonment?campaign_id=${silent}`)).to.include({
                live_answered: 0,
                campaigns: [{ campaign_id: silent, name: 'Silent', live_answered: 0, abandoned: 0, abandonment_rate: 0, abandonment_rate_30d: 0, abandonment_rate_24h: 0 }]
            });

            expect(await heldOk('/analytics/abandonment?from=2026-04-01')).to.include({ live_answered: 0, abandonment_rate: 0 });
            expect((await get('/analytics/abandonment?from=2026-03-02&to=2026-03-01')).status).to.equal(400);
        });

        it('gives the dashboard the rate over every campaign', async () => {

            expect(await ok('/dashboard/stats', tenant)).to.include({ total_calls: 13, abandonment_rate: 60 });
            expect(await ok('/dashboard/stats?from=2026-03-11T23:00:00Z&to=2026-03-12T09:05:00Z', tenant)).to.include({ abandonment_rate: 100 });
            expect(await ok('/dashboard/stats?from=2026-03-12T09:05:00Z', tenant)).to.include({ abandonment_rate: 0 });
            expect(await ok('/dashboard/stats', rival)).to.include({ abandonment_rate: 100 });
        });

        it('puts the abandoned calls in the buckets of their answers', async () => {

            const days = await ok(`/analytics/calls?from=2026-03-11&to=2026-03-13&campaign_id=${quiet}`, tenant);
            expect(days.buckets.map((bucket: Record<string, number>) => [bucket.total_calls, bucket.live_answered, bucket.abandoned])).to.equal([[1, 0, 0], [2, 3, 2]]);

            const hours = await ok('/analytics/calls?bucket=hour&from=2026-03-11T23:00:00Z&to=2026-03-12T01:00:00Z', tenant);
            expect(hours.buckets.map((bucket: Record<string, number>) => [bucket.total_calls, bucket.live_answered, bucket.abandoned])).to.equal([[1, 0, 0], [0, 1, 1]]);

            // Ends inside a quarter hour: counted from the calls

            const edges = await ok('/analytics/calls?bucket=hour&from=2026-03-11T23:59:59Z&to=2026-03-12T00:00:04Z', tenant);
            expect(edges.buckets.map((bucket: Record<string, number>) => [bucket.total_calls, bucket.live_answered, bucket.abandoned])).to.equal([[0, 0, 0], [0, 1, 1]]);
        });

        it('counts a call once it has ended, and then agrees with the campaign stats', async () => {

            expect(await campaignStats(busy)).to.equal({ abandonment_rate_30d: 50, abandonment_rate_24h: 66.67 });         // the live call too
            expect((await heldOk(`/analytics/abandonment?campaign_id=${busy}`)).campaigns[0]).to.include({ abandonment_rate_30d: 40, abandonment_rate_24h: 50 });

            await applyEvent(db, event({ id: liveCall }, 'completed', { durationSeconds: 40 }), now);
            expect((await heldOk(`/analytics/abandonment?campaign_id=${busy}`)).campaigns[0]).to.include({ live_answered: 7, abandoned: 4, abandonment_rate_30d: 50, abandonment_rate_24h: 66.67 });
            expect(await campaignStats(quiet)).to.equal({ abandonment_rate_30d: 66.67, abandonment_rate_24h: 66.67 });
            expect(await differences()).to.equal(0);
        });

        it('counts a first audio written after the end, a machine found late and a removal', async () => {

            const late = await signUp(server);
            const campaign = await campaignOf(server, late, 'Late');
            const calls = (await addCalls(db, late, campaign, [
                { at: '2026-03-12T14:14:58Z', outcome: 'answered', status: 'in_progress' },               // answered in the next quarter hour
                { at: '2026-03-12T14:20:00Z', outcome: 'answered', status: 'in_progress' },
                { at: '2026-03-12T14:30:00Z', outcome: 'answered', status: 'in_progress' }
            ])).map((id) => ({ id, tenant_id: late.tenantId, campaign_id: campaign, calling_config: null }));

            const counts = async () => {

                const body = await heldOk('/analytics/abandonment', late);
                return [body.live_answered, body.abandoned, body.campaigns[0]?.abandonment_rate_24h ?? null];
            };

            // The ends come first: two an hour after the answer, unheard so far (abandoned as they end),
            // one 1.5 s after it (not measured yet)

            await applyEvent(db, event(calls[0]!, 'completed', { durationSeconds: 3 }), now);
            await applyEvent(db, event(calls[1]!, 'completed', { durationSeconds: 3 }), now);
            await applyEvent(db, event(calls[2]!, 'completed', { durationSeconds: 3, endedAt: new Date('2026-03-12T14:30:06.500Z') }), now);
            expect(await db('calls').whereIn('id', calls.map((call) => call.id)).orderBy('created_at').pluck('abandoned')).to.equal([true, true, null]);
            expect(await counts()).to.equal([2, 2, 100]);

            // Then the voice sockets' measures

            expect(await firstAudio(server.plugins.core, calls[0]!, 2600)).to.equal({ abandoned: true, paused: false });
            expect(await counts()).to.equal([2, 2, 100]);
            await firstAudio(server.plugins.core, calls[1]!, 900);
            expect(await counts()).to.equal([2, 1, 50]);
            await firstAudio(server.plugins.core, calls[2]!, 1200);
            expect(await counts()).to.equal([3, 1, 33.33]);
            expect(await differences()).to.equal(0);

            await db('calls').where({ id: calls[0]!.id }).update({ machine: true });
            expect(await counts()).to.equal([2, 0, 0]);
            await db('calls').where({ id: calls[0]!.id }).update({ machine: false });
            await db('calls').where({ id: calls[1]!.id }).delete();
            expect(await counts()).to.equal([2, 1, 50]);
            expect(await differences()).to.equal(0);

            const buckets = await ok('/analytics/calls?bucket=hour&from=2026-03-12T14:00:00Z&to=2026-03-12T15:00:00Z', late);
            expect(buckets.buckets).to.equal([{ start: '2026-03-12T14:00:00+00:00', total_calls: 2, answered_calls: 2, answered_rate: 1, average_duration: 3, minutes_used: 2, live_answered: 2, abandoned: 1 }]);
        });

        it('makes the same numbers again in a rebuild', async () => {

            const urls = ['/analytics/abandonment', '/analytics/abandonment?from=2026-02-10T15:19:56Z&to=2026-03-11T15:20:00Z', '/dashboard/stats',
                '/analytics/calls?bucket=hour&from=2026-03-11T23:00:00Z&to=2026-03-12T12:00:00Z'];

            const answers = async () => {

                const bodies = [];
                for (const url of urls) {
                    bodies.push(await heldOk(url));
                }

                return bodies;
            };

            const made = await answers();
            await db('calls_per_quarter_hour').where({ tenant_id: tenant.tenantId }).update({ live_answered: 0, abandoned: 0 });
            await db('calls_per_day').where({ tenant_id: tenant.tenantId }).delete();

            // Only the answers just after the windows' starts are left: they are counted from the calls

            const wiped = await heldOk('/analytics/abandonment');
            expect(wiped.live_answered).to.equal(0);
            expect(wiped.campaigns).to.equal([{ campaign_id: busy, name: 'Busy', live_answered: 0, abandoned: 0, abandonment_rate: 0, abandonment_rate_30d: 100, abandonment_rate_24h: 100 }]);

            await db.raw('SELECT calls_analytics_rebuild(?)', [tenant.tenantId]);
            expect(await answers()).to.equal(made);
            expect(await differences()).to.equal(0);
        });

        it('agrees with a count of the calls themselves, and with the campaign stats', async () => {

            const counter = await signUp(server);
            const campaigns = [await campaignOf(server, counter, 'One'), await campaignOf(server, counter, 'Two')];
            const specs: Array<Spec & { campaign: string }> = [];
            let seed = 7;
            const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
            for (let i = 0; i < 300; ++i) {

                // Half of them placed in the last half minute of a quarter hour, so that many answers fall in the next

                const quarter = Date.parse('2026-02-08T00:00:00Z') + Math.floor(random() * 33 * 96) * 900_000;
                const at = i % 2 ? quarter + Math.floor(random() * 900_000) : quarter - Math.floor(random() * 30_000);
                const kind = random();
                specs.push({
                    at: new Date(at).toISOString(),
                    outcome: kind < 0.1 ? 'voicemail' : (kind < 0.5 ? 'goal_achieved' : 'goal_not_achieved'),
                    answeredAfter: Math.floor(random() * 40_000),
                    abandoned: kind < 0.8 ? random() < 0.3 : (kind < 0.9 ? null : true),
                    machine: kind < 0.1 || (kind > 0.95 && random() < 0.5),
                    campaign: campaigns[i % 2]!
                });
            }

            for (const campaign of campaigns) {
                await addCalls(db, counter, campaign, specs.filter((spec) => spec.campaign === campaign));
            }

            const answers = specs.filter((spec) => typeof spec.abandoned === 'boolean' && !spec.machine && spec.outcome !== 'voicemail')
                .map((spec) => ({ campaign: spec.campaign, answer: Date.parse(spec.at) + spec.answeredAfter!, abandoned: spec.abandoned! }));

            const expected = (from: number, to: number, campaign?: string) => {

                const inside = answers.filter((answer) => answer.answer >= from && answer.answer < to && (!campaign || answer.campaign === campaign));
                const abandoned = inside.filter((answer) => answer.abandoned).length;
                return { live_answered: inside.length, abandoned, abandonment_rate: percent(abandoned, inside.length) };
            };

            for (const [from, to] of [['2026-02-09T07:13:09.123Z', '2026-03-03T16:59:59.999Z'], ['2026-02-25T00:00:00Z', '2026-02-25T00:14:00Z'], ['2026-02-21T23:59:50Z', '2026-02-23T00:00:20Z']]) {
                const body = await heldOk(`/analytics/abandonment?from=${from}&to=${to}`, counter);
                expect(body, from).to.include(expected(Date.parse(from!), Date.parse(to!)));
                expect(await ok(`/dashboard/stats?from=${from}&to=${to}`, counter)).to.include({ abandonment_rate: expected(Date.parse(from!), Date.parse(to!)).abandonment_rate });
                for (const row of body.campaigns) {
                    expect(row).to.include(expected(Date.parse(from!), Date.parse(to!), row.campaign_id));
                }
            }

            const body = await heldOk('/analytics/abandonment', counter);
            expect(body.campaigns).to.have.length(2);
            for (const row of body.campaigns) {
                const [thirty, day] = windows.map((window) => expected(now.getTime() - window.ms, Infinity, row.campaign_id).abandonment_rate);
                expect(row).to.include({ abandonment_rate_30d: thirty, abandonment_rate_24h: day });
                expect(await campaignStats(row.campaign_id, counter)).to.equal({ abandonment_rate_30d: thirty, abandonment_rate_24h: day });
            }

            expect(await differences()).to.equal(0);
        });

        it('is counted for the calls ended before its migration, which undoes itself', async () => {

            const earlier = await signUp(server);
            const campaigns = [await campaignOf(server, earlier, 'Earlier'), await campaignOf(server, earlier, 'Earlier'), await campaignOf(server, earlier, 'Before')];
            await db.transaction((trx) => Migration.down(trx));
            for (const campaign of campaigns) {
                await addCalls(db, earlier, campaign, [
                    { at: '2026-03-12T08:14:59Z', outcome: 'goal_achieved', abandoned: true },             // answered in the next quarter hour
                    { at: '2026-03-12T08:20:00Z', outcome: 'goal_achieved', abandoned: false },
                    { at: '2026-03-12T08:25:00Z', outcome: 'voicemail', abandoned: true, machine: true }
                ]);
            }

            expect(await db('calls_per_quarter_hour').where({ tenant_id: earlier.tenantId }).sum({ n: 'calls' })).to.equal([{ n: 9 }]);
            await db.transaction((trx) => Migration.up(trx));
            expect(await differences()).to.equal(0);

            // Campaigns of one rate in the order of their names, then of their ids

            const body = await heldOk('/analytics/abandonment', earlier);
            expect(body).to.include({ live_answered: 6, abandoned: 3, abandonment_rate: 50 });
            expect(body.campaigns.map((row: { campaign_id: string }) => row.campaign_id)).to.equal([campaigns[2], ...campaigns.slice(0, 2).sort()]);
        });
    });


    // The counts kept beside the calls

    describe('the kept counts', () => {

        it('follow every change of the calls, and a rebuild restores them', async () => {

            const tenant = await signUp(server);
            const campaign = await campaignOf(server, tenant, 'Events', 'running');
            const live = (await addCalls(db, tenant, campaign, [
                { at: '2026-03-10T10:00:00Z', outcome: null, status: 'dialing' },
                { at: '2026-03-10T10:01:00Z', outcome: null, status: 'dialing' },
                { at: '2026-03-10T10:16:00Z', outcome: null, status: 'dialing' },
                { at: '2026-03-10T10:17:00Z', outcome: null, status: 'dialing' },
                { at: '2026-03-10T10:18:00Z', outcome: null, status: 'dialing' }
            ])).map((id) => ({ id }));
            const ended = await addCalls(db, tenant, campaign, [{ at: '2026-03-09T08:00:00Z', outcome: 'goal_achieved' }, { at: '2026-03-09T08:01:00Z', outcome: 'busy' }]);

            expect(await differences()).to.equal(0);
            expect(await ok('/dashboard/stats', tenant)).to.include({ total_calls: 2 });

            // A conversation; a timeout, which a late busy names again; an answered call the reconciler
            // ended, whose duration comes late; one not placed; one still live

            await applyEvent(db, event(live[0]!, 'answered'), now);
            await applyEvent(db, event(live[0]!, 'completed', { durationSeconds: 95 }), now);
            await applyEvent(db, event(live[1]!, 'timeout'), now);
            await applyEvent(db, event(live[1]!, 'busy'), now);
            await applyEvent(db, event(live[2]!, 'answered'), now);
            await applyEvent(db, event(live[2]!, 'failed'), now, 'failed');
            await applyEvent(db, event(live[2]!, 'completed', { durationSeconds: 130 }), now);
            await applyEvent(db, event(live[3]!, 'failed'), now, 'not_placed');
            await applyEvent(db, event(live[4]!, 'ringing'), now);

            // An ended call moved to another quarter hour and day, and one removed

            await db('calls').where({ id: ended[0] }).update({ created_at: new Date('2026-03-08T23:59:00Z') });
            await db('calls').where({ id: ended[1] }).delete();

            const calls = await db('calls').whereIn('id', live.map((call) => call.id)).orderBy('created_at').select('status', 'outcome', 'duration_seconds', 'billed_minutes');
            expect(calls).to.equal([
                { status: 'completed', outcome: 'goal_not_achieved', duration_seconds: 95, billed_minutes: 2 },
                { status: 'completed', outcome: 'busy', duration_seconds: 0, billed_minutes: 0 },
                { status: 'completed', outcome: 'failed', duration_seconds: 130, billed_minutes: 3 },
                { status: 'completed', outcome: 'not_placed', duration_seconds: 0, billed_minutes: 0 },
                { status: 'ringing', outcome: null, duration_seconds: 0, billed_minutes: 0 }
            ]);

            expect(await differences()).to.equal(0);

            // An end whose transaction fails leaves no count behind

            const failed = await db.transaction(async (trx) => {

                await trx('calls').where({ id: live[4]!.id }).update({ status: 'completed', outcome: 'busy' });
                await trx.raw('SET CONSTRAINTS ALL IMMEDIATE');
                expect(Number((await trx('calls_per_day').where({ tenant_id: tenant.tenantId, outcome: 'busy' }).sum({ n: 'calls' }))[0]!.n)).to.equal(2);
                throw new Error('rolled back');
            }).catch((err: Error) => err.message);

            expect(failed).to.equal('rolled back');
            expect(await differences()).to.equal(0);
            expect(await ok('/dashboard/stats', tenant)).to.equal({ total_calls: 5, successful_calls: 2, failed_calls: 3, average_duration: 95, active_campaigns: 0, abandonment_rate: 0 });   // its last job ended: completed
            expect(totals(await ok('/analytics/calls?bucket=hour&from=2026-03-08T23:00:00Z&to=2026-03-10T11:00:00Z', tenant)).filter((count: number) => count)).to.equal([1, 4]);

            // Counts gone wrong are found, and made again from the calls; other tenants' are left as they are

            await db('calls_per_quarter_hour').where({ tenant_id: tenant.tenantId }).increment('calls', 5);
            await db('calls_per_day').where({ tenant_id: tenant.tenantId }).delete();
            await db('calls_per_day').where({ tenant_id: other.tenantId, outcome: 'busy' }).increment('billed_minutes', 1);
            expect(await differences()).to.be.above(0);
            expect(await ok('/dashboard/stats', tenant)).to.include({ total_calls: 0 });

            const admin = await signUp(server, { email: 'analytics.admin@example.com' });
            const refused = await server.inject({ method: 'POST', url: '/api/v1/analytics/rebuild', headers: tenant.headers, payload: { tenant_id: tenant.tenantId } });
            expect(refused.statusCode).to.equal(403);

            const rebuilt = await server.inject({ method: 'POST', url: '/api/v1/analytics/rebuild', headers: admin.headers, payload: { tenant_id: tenant.tenantId } });
            expect(rebuilt.statusCode, rebuilt.payload).to.equal(200);
            expect(rebuilt.result).to.equal({ tenant_id: tenant.tenantId, calls: 5 });
            expect(await ok('/dashboard/stats', tenant)).to.include({ total_calls: 5 });
            expect(await differences()).to.equal(2);                                                    // the other tenant's day, left alone (both ways)

            const all = await server.inject({ method: 'POST', url: '/api/v1/analytics/rebuild', headers: admin.headers });
            expect(all.statusCode, all.payload).to.equal(200);
            expect(all.result).to.include({ tenant_id: null });
            expect(await differences()).to.equal(0);
            expect(await ok('/dashboard/stats', other)).to.equal({ total_calls: 3, successful_calls: 2, failed_calls: 1, average_duration: 600, active_campaigns: 1, abandonment_rate: 0 });
        });

        it('are emptied with the calls, and leave with their tenant', async () => {

            const tenant = await signUp(server);
            const campaign = await campaignOf(server, tenant, 'Leaving');
            await addCalls(db, tenant, campaign, [{ at: '2026-03-09T08:00:00Z', outcome: 'goal_achieved' }, { at: '2026-03-09T09:00:00Z', outcome: 'voicemail' }]);
            expect(Number((await db('calls_per_day').where({ tenant_id: tenant.tenantId }).sum({ n: 'calls' }))[0]!.n)).to.equal(2);

            await db('tenants').where({ id: tenant.tenantId }).delete();
            expect(await db('calls_per_quarter_hour').where({ tenant_id: tenant.tenantId })).to.equal([]);
            expect(await db('calls_per_day').where({ tenant_id: tenant.tenantId })).to.equal([]);
            expect(await differences()).to.equal(0);

            // The last test: every tenant's calls go

            expect(Number((await db('calls_per_day').count({ n: '*' }))[0]!.n)).to.be.above(0);
            await db.raw('TRUNCATE calls CASCADE');
            expect(Number((await db('calls_per_quarter_hour').count({ n: '*' }))[0]!.n) + Number((await db('calls_per_day').count({ n: '*' }))[0]!.n)).to.equal(0);
        });
    });
});
