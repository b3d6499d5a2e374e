// The analytics endpoints over a million calls: 50 tenants, one of them with 200,000 calls over
// 180 days in five campaigns, counted in New York's time zone. Each realistic query of that tenant
// is timed through server.inject (auth included), and so is its raw baseline: the same answer in
// one SQL statement over the calls, without the kept counts, on the same database in the same run.
// The cost of keeping the counts is measured too: calls ended through the dialer's own end path
// (applyEvent, 20 at a time) with the counting trigger on and off, in turns. Prints JSON; a
// query's ratio is the raw p50 over the endpoint's p50.
//
//     npx tsx bench/analytics.ts [calls=1000000] [tenants=50] [big tenant's calls=200000] [days=180] [samples=200]

import Crypto from 'crypto';

import type { Server } from '@hapi/hapi';
import Pg from 'pg';

import { connectionString } from '../core/db';
import { applyEvent } from '../plugins/dialer/events';
import { startServer } from '../test/lib/harness';
import { signUp } from '../test/lib/session';


const totalCalls = Number(process.argv[2] ?? 1_000_000);
const tenantCount = Number(process.argv[3] ?? 50);
const bigCalls = Number(process.argv[4] ?? 200_000);
const days = Number(process.argv[5] ?? 180);
const samples = Number(process.argv[6] ?? 200);
const rawSamples = Math.max(10, Math.round(samples / 5));

const bigCampaigns = 5;
const leadsPerCampaign = 2000;
const zone = 'America/New_York';
const live = `'dialing', 'ringing', 'in_progress'`;


type Owner = Awaited<ReturnType<typeof signUp>>;


const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

const round = (value: number, places = 2) => Number(value.toFixed(places));


const percentiles = (values: number[], places = 2) => {

    const sorted = [...values].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
    return { p50: round(at(0.5), places), p95: round(at(0.95), places), max: round(sorted[sorted.length - 1]!, places) };
};


// Every call of the run placed in time order (tenants interleaved, as they would arrive), spread
// evenly over the 180 days up to now: the big tenant's every (total / big)th, the others' in turn

const seed = async (client: Pg.Client, tenants: Owner[]) => {

    const started = process.hrtime.bigint();
    await client.query('SET work_mem = \'256MB\'');
    await client.query('SELECT setseed(0.42)');
    await client.query('CREATE TEMP TABLE bench_tenants (idx integer PRIMARY KEY, id uuid NOT NULL, campaigns integer NOT NULL)');
    await client.query('INSERT INTO bench_tenants SELECT i - 1, id, CASE WHEN i = 1 THEN $2 ELSE 2 END FROM unnest($1::uuid[]) WITH ORDINALITY AS t (id, i)', [tenants.map((tenant) => tenant.tenantId), bigCampaigns]);

    await client.query(`
        CREATE TEMP TABLE bench_campaigns AS
        WITH made AS (
            INSERT INTO campaigns (tenant_id, name, status, max_concurrent_calls)
            SELECT t.id, 'Bench ' || k, CASE WHEN k = 0 THEN 'running' ELSE 'completed' END, 10 FROM bench_tenants t, generate_series(0, t.campaigns - 1) k
            RETURNING id, tenant_id, name
        )
        SELECT made.id, made.tenant_id, t.idx AS tenant_idx, CAST(substr(made.name, 7) AS integer) AS campaign_idx, t.campaigns
        FROM made JOIN bench_tenants t ON t.id = made.tenant_id`);

    await client.query(`
        INSERT INTO leads (tenant_id, campaign_id, phone_number, status)
        SELECT c.tenant_id, c.id, '+1212' || lpad(n::text, 7, '0'), 'contacted' FROM bench_campaigns c, generate_series(1, $1) n`, [leadsPerCampaign]);

    await client.query(`INSERT INTO dialer_jobs (tenant_id, campaign_id, lead_id, status, attempt) SELECT tenant_id, campaign_id, id, 'completed', 1 FROM leads`);
    await client.query(`
        CREATE TEMP TABLE bench_slots AS
        SELECT j.campaign_id, CAST(row_number() OVER (PARTITION BY j.campaign_id ORDER BY j.id) - 1 AS integer) AS slot, j.lead_id, j.id AS job_id FROM dialer_jobs j`);

    await client.query('ALTER TABLE bench_slots ADD PRIMARY KEY (campaign_id, slot)');
    await client.query('ANALYZE bench_tenants, bench_campaigns, bench_slots');

    // Counted afterwards by the rebuild, which is timed on its own

    const setup = seconds(started);
    await client.query('ALTER TABLE calls DISABLE TRIGGER calls_analytics_insert');
    await client.query(`
        INSERT INTO calls (id, tenant_id, campaign_id, lead_id, job_id, attempt, provider, provider_call_id, to_number, from_number, status, outcome,
            answered_at, ended_at, duration_seconds, billed_minutes, price, last_event_at, created_at, updated_at)
        SELECT gen_random_uuid(), c.tenant_id, c.id, s.lead_id, s.job_id, 1, 'simulator', 'bench-' || g.i, '+1555' || lpad(g.i::text, 7, '0'), '+12025550100', 'completed', o.outcome,
            CASE WHEN o.answered THEN g.at + interval '20 seconds' END, g.at + make_interval(secs => 30 + o.talk), o.talk, ceil(o.talk / 60.0), o.talk * 0.0003,
            g.at + make_interval(secs => 30 + o.talk), g.at, g.at + make_interval(secs => 30 + o.talk)
        FROM (
            SELECT i, CASE WHEN i % $2 = 0 THEN 0 ELSE 1 + i % ($3 - 1) END AS tenant_idx, random() AS r, random() AS r2,
                now() - interval '${days} days' + make_interval(secs => (i - 1 + random()) * ${days} * 86400.0 / $1) AS at
            FROM generate_series(1, $1) i
        ) g
        JOIN bench_campaigns c ON c.tenant_idx = g.tenant_idx AND c.campaign_idx = (g.i / 7) % c.campaigns
        JOIN bench_slots s ON s.campaign_id = c.id AND s.slot = (g.i / 3) % ${leadsPerCampaign}
        CROSS JOIN LATERAL (
            SELECT kind.outcome, kind.outcome IN ('goal_achieved', 'goal_not_achieved', 'voicemail') AS answered,
                CASE WHEN kind.outcome IN ('goal_achieved', 'goal_not_achieved', 'voicemail') THEN 15 + floor(g.r2 * 400)::integer ELSE 0 END AS talk
            FROM (SELECT CASE WHEN g.r < 0.10 THEN 'goal_achieved' WHEN g.r < 0.32 THEN 'goal_not_achieved' WHEN g.r < 0.40 THEN 'voicemail'
                WHEN g.r < 0.68 THEN 'no_answer' WHEN g.r < 0.80 THEN 'busy' WHEN g.r < 0.90 THEN 'failed' WHEN g.r < 0.94 THEN 'rejected'
                WHEN g.r < 0.97 THEN 'invalid' ELSE 'not_placed' END AS outcome) kind
        ) o
        ORDER BY g.i`, [totalCalls, Math.round(totalCalls / bigCalls), tenantCount]);

    await client.query('ALTER TABLE calls ENABLE TRIGGER calls_analytics_insert');
    return { leads_and_jobs: round(setup, 1), calls: round(seconds(started) - setup, 1) };
};


// The realistic queries: the defaults, a week (ends anywhere), one campaign, two days of hours

interface Query {
    name: string;
    endpoint: 'dashboard_stats' | 'analytics_calls' | 'analytics_outcomes';
    url: () => string;
    raw: () => { text: string; values: unknown[] };
    inTarget: boolean;
}


const queries = (tenantId: string, campaignId: string, now: Date): Query[] => {

    const window = (span: number) => {

        const to = now.getTime() - Math.floor(Math.random() * (days - span / 86400_000 - 1) * 86400_000);
        return { from: new Date(to - span), to: new Date(to) };
    };

    let range = window(7 * 86400_000);
    const week = () => (range = window(7 * 86400_000));
    const twoDays = () => (range = window(2 * 86400_000));
    const thirtyDays = () => ({ from: new Date(now.getTime() - 30 * 86400_000), to: now });
    const q = (values: Record<string, string | Date>) => new URLSearchParams(Object.entries(values).map(([key, value]): [string, string] => [key, value instanceof Date ? value.toISOString() : value])).toString();

    const stats = (where: string) => `
        SELECT count(*) AS total_calls,
            count(*) FILTER (WHERE outcome IN ('goal_achieved', 'goal_not_achieved', 'answered')) AS successful_calls,
            count(*) FILTER (WHERE outcome IN ('busy', 'no_answer', 'failed', 'rejected', 'invalid', 'not_placed')) AS failed_calls,
            COALESCE(round(avg(duration_seconds) FILTER (WHERE answered_at IS NOT NULL), 1), 0) AS average_duration,
            (SELECT count(*) FROM campaigns WHERE tenant_id = $1 AND status = 'running' AND deleted_at IS NULL) AS active_campaigns
        FROM calls WHERE tenant_id = $1 AND status NOT IN (${live}) ${where}`;

    const series = (unit: string, where: string) => `
        SELECT date_trunc('${unit}', created_at, '${zone}') AS start, count(*) AS total_calls, count(answered_at) AS answered_calls,
            COALESCE(round(avg(duration_seconds) FILTER (WHERE answered_at IS NOT NULL), 1), 0) AS average_duration, sum(billed_minutes) AS minutes_used
        FROM calls WHERE tenant_id = $1 AND status NOT IN (${live}) ${where} GROUP BY 1 ORDER BY 1`;

    const outcomes = (where: string) => `
        SELECT outcome, count(*) FROM calls WHERE tenant_id = $1 AND status NOT IN (${live}) ${where} GROUP BY 1 ORDER BY 2 DESC`;

    const inRange = 'AND created_at >= $2 AND created_at < $3';
    const inCampaign = 'AND campaign_id = $4';

    return [
        { name: 'stats_default', endpoint: 'dashboard_stats', inTarget: true, url: () => '/dashboard/stats', raw: () => ({ text: stats(''), values: [tenantId] }) },
        { name: 'stats_7_days', endpoint: 'dashboard_stats', inTarget: true, url: () => `/dashboard/stats?${q(week())}`, raw: () => ({ text: stats(inRange), values: [tenantId, range.from, range.to] }) },
        { name: 'calls_default_30_days', endpoint: 'analytics_calls', inTarget: true, url: () => '/analytics/calls', raw: () => ({ text: series('day', inRange), values: [tenantId, thirtyDays().from, now] }) },
        { name: 'calls_7_days', endpoint: 'analytics_calls', inTarget: true, url: () => `/analytics/calls?${q(week())}`, raw: () => ({ text: series('day', inRange), values: [tenantId, range.from, range.to] }) },
        { name: 'calls_campaign_30_days', endpoint: 'analytics_calls', inTarget: true, url: () => `/analytics/calls?campaign_id=${campaignId}`, raw: () => ({ text: series('day', `${inRange} ${inCampaign}`), values: [tenantId, thirtyDays().from, now, campaignId] }) },
        { name: 'calls_hours_2_days', endpoint: 'analytics_calls', inTarget: true, url: () => `/analytics/calls?${q({ bucket: 'hour', ...twoDays() })}`, raw: () => ({ text: series('hour', inRange), values: [tenantId, range.from, range.to] }) },
        { name: 'outcomes_default', endpoint: 'analytics_outcomes', inTarget: true, url: () => '/analytics/outcomes', raw: () => ({ text: outcomes(''), values: [tenantId] }) },
        { name: 'outcomes_7_days', endpoint: 'analytics_outcomes', inTarget: true, url: () => `/analytics/outcomes?${q(week())}`, raw: () => ({ text: outcomes(inRange), values: [tenantId, range.from, range.to] }) },
        { name: 'outcomes_campaign', endpoint: 'analytics_outcomes', inTarget: true, url: () => `/analytics/outcomes?campaign_id=${campaignId}`, raw: () => ({ text: outcomes(`AND campaign_id = $2`), values: [tenantId, campaignId] }) },

        // Not among the target's queries: the longest series over quarter hours, weeks of half a year

        { name: 'calls_weeks_26', endpoint: 'analytics_calls', inTarget: false, url: () => `/analytics/calls?${q({ bucket: 'week', from: new Date(now.getTime() - 182 * 86400_000), to: now })}`, raw: () => ({ text: series('week', inRange), values: [tenantId, new Date(now.getTime() - 182 * 86400_000), now] }) }
    ];
};


const inject = async (server: Server, owner: Owner, url: string) => {

    const res = await server.inject({ method: 'GET', url: `/api/v1${url}`, headers: owner.headers });
    if (res.statusCode !== 200) {
        throw new Error(`${url} answered ${res.statusCode}: ${res.payload}`);
    }

    return res.result as Record<string, any>;
};


// The endpoints' answers and the raw ones agree before anything is timed

const check = async (server: Server, owner: Owner, client: Pg.Client, campaignId: string) => {

    const stats = await inject(server, owner, '/dashboard/stats');
    const { rows: [raw] } = await client.query(`SELECT count(*) AS total, count(*) FILTER (WHERE outcome IN ('busy', 'no_answer', 'failed', 'rejected', 'invalid', 'not_placed')) AS failed,
        round(avg(duration_seconds) FILTER (WHERE answered_at IS NOT NULL), 1) AS average FROM calls WHERE tenant_id = $1 AND status NOT IN (${live})`, [owner.tenantId]);
    const from = new Date(Date.now() - 9.3 * 86400_000);
    const to = new Date(Date.now() - 2.1 * 86400_000);
    const series = await inject(server, owner, `/analytics/calls?bucket=hour&campaign_id=${campaignId}&from=${from.toISOString()}&to=${to.toISOString()}`);
    const { rows: hours } = await client.query(`SELECT date_trunc('hour', created_at, '${zone}') AS start, count(*) AS n FROM calls WHERE tenant_id = $1 AND campaign_id = $2 AND created_at >= $3 AND created_at < $4 GROUP BY 1 ORDER BY 1`, [owner.tenantId, campaignId, from, to]);
    const counted = new Map(hours.map((row) => [new Date(row.start).getTime(), Number(row.n)]));
    const mismatches = series.buckets.filter((bucket: { start: string; total_calls: number }) => (counted.get(new Date(bucket.start).getTime()) ?? 0) !== bucket.total_calls).length;

    if (stats.total_calls !== Number(raw.total) || stats.failed_calls !== Number(raw.failed) || stats.average_duration !== Number(raw.average) || mismatches) {
        throw new Error(`the endpoints and the raw queries disagree: ${JSON.stringify({ stats, raw, mismatches })}`);
    }

    return { total_calls: stats.total_calls, hour_buckets_compared: series.buckets.length };
};


// Live calls of a new running campaign of the tenant, as the dialer leaves them once answered

const liveCalls = async (server: Server, owner: Owner, count: number) => {

    const { db } = server.plugins.core;
    const [{ id: campaignId }] = await db('campaigns').insert({ tenant_id: owner.tenantId, name: 'Ends', status: 'running', max_concurrent_calls: 50, max_retries: 0 }).returning('id');
    await db.raw(`INSERT INTO leads (tenant_id, campaign_id, phone_number, status) SELECT ?, ?, '+1313' || lpad(i::text, 7, '0'), 'calling' FROM generate_series(1, ?) i`, [owner.tenantId, campaignId, count]);
    await db.raw(`INSERT INTO dialer_jobs (tenant_id, campaign_id, lead_id, status, attempt) SELECT tenant_id, campaign_id, id, 'in_call', 1 FROM leads WHERE campaign_id = ?`, [campaignId]);
    const { rows } = await db.raw(`
        INSERT INTO calls (id, tenant_id, campaign_id, lead_id, job_id, attempt, provider, provider_call_id, to_number, status, answered_at)
        SELECT gen_random_uuid(), tenant_id, campaign_id, lead_id, id, 1, 'simulator', 'end-' || gen_random_uuid(), '+13130000000', 'in_progress', now()
        FROM dialer_jobs WHERE campaign_id = ? RETURNING id`, [campaignId]);

    await db.raw('VACUUM ANALYZE calls, leads, dialer_jobs');
    return { campaignId, ids: (rows as Array<{ id: string }>).map((row) => row.id) };
};


// Calls ended through the dialer's end path, 20 at a time, with the counting trigger on or off

const endCalls = async (server: Server, client: Pg.Client, owner: Owner, count: number, counting: boolean) => {

    const { db } = server.plugins.core;
    const { campaignId, ids } = await liveCalls(server, owner, count);
    await client.query(`ALTER TABLE calls ${counting ? 'ENABLE' : 'DISABLE'} TRIGGER calls_analytics_update`);

    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: 20 }, async () => {

        while (next < ids.length) {
            const id = ids[next++]!;
            await applyEvent(db, { callId: id, attempt: 1, providerCallId: `end-${id}`, status: 'completed', durationSeconds: 95, timestamp: new Date(), raw: {} }, new Date());
        }
    }));

    const elapsed = seconds(started);
    await client.query('ALTER TABLE calls ENABLE TRIGGER calls_analytics_update');
    const ended = Number((await db('calls').where({ campaign_id: campaignId, status: 'completed' }).count({ n: '*' }))[0]!.n);
    if (ended !== count) {
        throw new Error(`${ended} of ${count} calls ended`);
    }

    return Math.round(count / elapsed);
};


// The trigger's own time at a call's end, as PostgreSQL counts it (EXPLAIN ANALYZE of the end's
// write to the call, one call a transaction), beside the statement's (the trigger's included)

const triggerTime = async (server: Server, client: Pg.Client, owner: Owner, count: number) => {

    const { ids } = await liveCalls(server, owner, count);
    const trigger: number[] = [];
    const statement: number[] = [];
    for (const [i, id] of ids.entries()) {
        await client.query('BEGIN');
        await client.query('SET CONSTRAINTS calls_analytics_update IMMEDIATE');                         // deferred to the commit otherwise, out of EXPLAIN's sight
        const { rows: [row] } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) UPDATE calls SET status = 'completed', outcome = $2, ended_at = now(), duration_seconds = 95, billed_minutes = 2, updated_at = now() WHERE id = $1`,
            [id, ['goal_achieved', 'goal_not_achieved', 'voicemail'][i % 3]]);
        await client.query('COMMIT');
        const [plan] = row['QUERY PLAN'];
        trigger.push(plan.Triggers.find((fired: { 'Trigger Name': string }) => fired['Trigger Name'] === 'calls_analytics_update').Time);
        statement.push(plan['Execution Time']);
    }

    return { calls: count, trigger_ms: percentiles(trigger, 3), statement_ms: percentiles(statement, 3) };
};


const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;


const main = async () => {

    const harness = await startServer({ role: 'api', logLevel: 'warn', databasePoolMax: 20 });
    const { server, config } = harness;
    const client = new Pg.Client({ connectionString: connectionString(config.databaseUrl) });
    await client.connect();

    try {
        const tenants: Owner[] = [];
        for (let i = 0; i < tenantCount; ++i) {
            tenants.push(await signUp(server, { plan: 'enterprise', email: `bench.${i}.${Crypto.randomBytes(3).toString('hex')}@example.com` }));
        }

        const big = tenants[0]!;
        await client.query('UPDATE tenants SET timezone = $2, minutes_remaining = 100000000 WHERE id = $1', [big.tenantId, zone]);

        const seeded = await seed(client, tenants);

        const rebuildStart = process.hrtime.bigint();
        const { rows: [{ counted }] } = await client.query('SELECT calls_analytics_rebuild() AS counted');
        const rebuildSeconds = seconds(rebuildStart);

        await client.query('VACUUM ANALYZE calls, leads, dialer_jobs, campaigns, calls_per_quarter_hour, calls_per_day');

        const { rows: [sizes] } = await client.query(`
            SELECT (SELECT count(*) FROM calls) AS calls, (SELECT count(*) FROM calls WHERE tenant_id = $1) AS big_tenant_calls,
                (SELECT count(*) FROM calls_per_quarter_hour) AS quarter_hour_rows, (SELECT count(*) FROM calls_per_quarter_hour WHERE tenant_id = $1) AS big_tenant_quarter_hour_rows,
                (SELECT count(*) FROM calls_per_day) AS day_rows, (SELECT count(*) FROM calls_per_day WHERE tenant_id = $1) AS big_tenant_day_rows,
                (SELECT current_setting('jit')) AS jit`, [big.tenantId]);

        const { rows: [{ id: campaignId }] } = await client.query(`SELECT id FROM campaigns WHERE tenant_id = $1 AND name = 'Bench 1'`, [big.tenantId]);
        const checked = await check(server, big, client, campaignId);

        // The endpoints and the raw statements, each query's rounds in turn after a warm-up

        const results: Record<string, unknown> = {};
        const byEndpoint: Record<string, number[]> = {};
        for (const query of queries(big.tenantId, campaignId, new Date())) {
            for (let i = 0; i < 20; ++i) {
                await inject(server, big, query.url());
            }

            for (let i = 0; i < 3; ++i) {
                const { text, values } = query.raw();
                await client.query(text, values);
            }

            const endpoint: number[] = [];
            for (let i = 0; i < samples; ++i) {
                const url = query.url();
                const start = process.hrtime.bigint();
                await inject(server, big, url);
                endpoint.push(seconds(start) * 1000);
            }

            const raw: number[] = [];
            for (let i = 0; i < rawSamples; ++i) {
                const { text, values } = query.raw();
                const start = process.hrtime.bigint();
                await client.query(text, values);
                raw.push(seconds(start) * 1000);
            }

            if (query.inTarget) {
                (byEndpoint[query.endpoint] ??= []).push(...endpoint);
            }

            const timing = percentiles(endpoint);
            const baseline = percentiles(raw);
            results[query.name] = { endpoint_ms: timing, raw_sql_ms: baseline, ratio: round(baseline.p50 / timing.p50, 1), in_target: query.inTarget };
        }

        // What keeping the counts costs the end of a call, in turns: off, on, off, on...

        const ends: Record<'with_trigger' | 'without_trigger', number[]> = { with_trigger: [], without_trigger: [] };
        const scratch = tenants[1]!;
        await client.query('UPDATE tenants SET minutes_remaining = 100000000 WHERE id = $1', [scratch.tenantId]);
        await endCalls(server, client, scratch, 500, true);                                                 // warms the end path up
        for (let i = 0; i < 8; ++i) {
            const counting = i % 2 === 1;
            ends[counting ? 'with_trigger' : 'without_trigger'].push(await endCalls(server, client, scratch, 2000, counting));
        }

        // The counts of the ends made with the trigger off are missing until a rebuild, which finds them

        const drift = `
            SELECT count(*) AS rows FROM (
                (SELECT tenant_id, date_bin('1 day', created_at, TIMESTAMPTZ 'epoch'), campaign_id, COALESCE(outcome, 'unknown'), CAST(count(*) AS integer) FROM calls WHERE status NOT IN (${live}) GROUP BY 1, 2, 3, 4
                 EXCEPT SELECT tenant_id, day, campaign_id, outcome, calls FROM calls_per_day)
                UNION ALL
                (SELECT tenant_id, day, campaign_id, outcome, calls FROM calls_per_day
                 EXCEPT SELECT tenant_id, date_bin('1 day', created_at, TIMESTAMPTZ 'epoch'), campaign_id, COALESCE(outcome, 'unknown'), CAST(count(*) AS integer) FROM calls WHERE status NOT IN (${live}) GROUP BY 1, 2, 3, 4)
            ) d`;

        const driftBefore = Number((await client.query(drift)).rows[0].rows);
        await client.query('SELECT calls_analytics_rebuild($1)', [scratch.tenantId]);
        const driftAfter = Number((await client.query(drift)).rows[0].rows);

        const triggered = await triggerTime(server, client, scratch, 2000);
        const withTrigger = median(ends.with_trigger);
        const withoutTrigger = median(ends.without_trigger);
        console.log(JSON.stringify({
            rows: { calls: Number(sizes.calls), tenants: tenantCount, big_tenant_calls: Number(sizes.big_tenant_calls), days, big_tenant_campaigns: bigCampaigns,
                quarter_hour_rows: Number(sizes.quarter_hour_rows), big_tenant_quarter_hour_rows: Number(sizes.big_tenant_quarter_hour_rows),
                day_rows: Number(sizes.day_rows), big_tenant_day_rows: Number(sizes.big_tenant_day_rows) },
            seed_seconds: { ...seeded, total: round(seeded.leads_and_jobs + seeded.calls, 1) },
            rebuild_seconds: round(rebuildSeconds, 1),
            rebuild_counted: Number(counted),
            checked,
            samples: { endpoint: samples, raw_sql: rawSamples },
            jit: sizes.jit,
            endpoints_ms: Object.fromEntries(Object.entries(byEndpoint).map(([name, values]) => [name, percentiles(values)])),
            queries: results,
            end_path: { calls_per_round: 2000, concurrency: 20, ends_per_second_with_trigger: ends.with_trigger, ends_per_second_without_trigger: ends.without_trigger,
                median_with: withTrigger, median_without: withoutTrigger, ratio: round(withTrigger / withoutTrigger, 3) },
            trigger_at_end: triggered,
            drift_rows: { after_untriggered_ends: driftBefore, after_rebuild: driftAfter }
        }));
    }
    finally {
        await client.end();
        await harness.cleanup();
    }
};


main().catch((err) => {

    console.error(err);
    process.exit(1);
});
