import Boom from '@hapi/boom';

import { Statement, type Db } from '../../core/db';
import { answerAtSql as answerAt, liveAnsweredSql, percent, windows } from '../dialer/abandonment';
import * as Outcomes from './outcomes';
import { allTime, day, layers, quarterHour, split, type Layers, type Pieces } from './periods';
import { maxBuckets, type Bucket, type Moment } from './schemas';


// Counts of a tenant's ended calls (a live call counts once it has ended), read from the counts
// kept per day or per quarter hour (see the migration) and, for the ends of a range that are not
// a whole day or quarter hour, from the calls themselves. Each count is one statement, so all of
// its pieces are read from the same snapshot.

export interface Range {
    from?: Moment;
    to?: Moment;
    campaign_id?: string;
}


interface Resolved {
    zone: string;
    from: Date | null;
    to: Date | null;
}


const live = `'dialing', 'ringing', 'in_progress'`;


// The zone (which the database must know), the range's ends (dates and local times read in the
// zone, defaults filled) and whether the campaign is the tenant's, in one round trip

const resolveStatement = new Statement<Resolved & { campaign_found: boolean }>('talky-analytics-resolve', `
    SELECT z.name AS zone,
        COALESCE(CAST(:fromInstant AS timestamptz), CAST(:fromLocal AS timestamp) AT TIME ZONE z.name,
            date_trunc(:unit, (e.until AT TIME ZONE z.name) - CAST(:span AS interval)) AT TIME ZONE z.name) AS "from",
        e.until AS "to",
        CAST(:campaign AS uuid) IS NULL OR EXISTS (SELECT 1 FROM campaigns m WHERE m.id = :campaign AND m.tenant_id = :tenant) AS campaign_found,
        TIMESTAMPTZ 'epoch' AT TIME ZONE z.name AS zone_known
    FROM (SELECT COALESCE(CAST(:zone AS text), (SELECT t.timezone FROM tenants t WHERE t.id = :tenant)) AS name) z
    CROSS JOIN LATERAL (SELECT COALESCE(CAST(:toInstant AS timestamptz), CAST(:toLocal AS timestamp) AT TIME ZONE z.name, CAST(:now AS timestamptz)) AS until) e`);


interface Defaults {
    zone?: string;
    now?: Date;                             // the default end; none: no end
    unit?: Bucket;                          // with span, the default start: the unit's start, span before the end
    span?: string;
}


const resolve = async (db: Db, tenantId: string, range: Range, defaults: Defaults = {}): Promise<Resolved> => {

    const bindings = {
        tenant: tenantId, zone: defaults.zone ?? null, campaign: range.campaign_id ?? null,
        fromInstant: range.from && !range.from.local ? range.from.text : null, fromLocal: range.from?.local ? range.from.text : null,
        toInstant: range.to && !range.to.local ? range.to.text : null, toLocal: range.to?.local ? range.to.text : null,
        now: defaults.now ?? null, unit: defaults.unit ?? null, span: defaults.span ?? null
    };

    let row;
    try {
        [row] = await resolveStatement.run(db, bindings);
    }
    catch (err) {
        if ((err as { code?: string }).code === '22023' && defaults.zone) {     // a zone the database does not know
            throw Boom.badRequest('"timezone" must be an IANA time zone such as America/New_York');
        }

        throw err;
    }

    if (!row!.campaign_found) {
        throw Boom.notFound('Campaign not found');
    }

    if (row!.from && row!.to && row!.from >= row!.to) {
        throw Boom.badRequest('"from" must be before "to"');
    }

    return row!;
};


// Ended calls by outcome over the pieces of a range

interface OutcomeRow {
    outcome: string;
    calls: number;
    answered: number;
    answered_seconds: number;
}


const rawCalls = (pick: string) => `
    SELECT ${pick} FROM calls
    WHERE tenant_id = :tenant AND created_at >= :from AND created_at < :wholeFrom AND status NOT IN (${live}) AND (CAST(:campaign AS uuid) IS NULL OR campaign_id = :campaign)
    UNION ALL
    SELECT ${pick} FROM calls
    WHERE tenant_id = :tenant AND created_at >= :wholeTo AND created_at < :to AND status NOT IN (${live}) AND (CAST(:campaign AS uuid) IS NULL OR campaign_id = :campaign)`;

const rawCounts = (key: string) => `${key}, 1 AS calls, CASE WHEN answered_at IS NULL THEN 0 ELSE 1 END AS answered,
    CASE WHEN answered_at IS NULL THEN 0 ELSE duration_seconds END AS answered_seconds, billed_minutes, 0 AS live_answered, 0 AS abandoned`;


// Abandonment, as the dialer's abandonment.ts counts it (liveAnsweredSql, answerAtSql): the
// live-answered calls (the agent's first audio measured, no machine took the call) and the
// abandoned among them. They count by their answer (the placing when no answer was recorded), as
// the campaign stats' windows do, in the kept
// counts too (see the migration 20261204001200_abandonment); from the calls, through the index
// calls_tenant_answer_measured. Pieces are pairs of bounds, from inclusive and to exclusive.

const abandonedOne = 'CASE WHEN abandoned THEN 1 ELSE 0 END AS abandoned';

const rawAnswers = (pick: string, pieces: Array<[string, string]>) => pieces.map(([from, to]) => `
    SELECT ${pick} FROM calls
    WHERE tenant_id = :tenant AND ${answerAt} >= ${from} AND ${answerAt} < ${to} AND ${liveAnsweredSql}
        AND status NOT IN (${live}) AND (CAST(:campaign AS uuid) IS NULL OR campaign_id = :campaign)`).join('\n    UNION ALL');

const answerCounts = (key: string) => `${key}, 0 AS calls, 0 AS answered, 0 AS answered_seconds, 0 AS billed_minutes, 1 AS live_answered, ${abandonedOne}`;


const byOutcomeStatement = new Statement<OutcomeRow>('talky-analytics-outcomes', `
    SELECT outcome, CAST(sum(calls) AS integer) AS calls, CAST(sum(answered) AS integer) AS answered, CAST(sum(answered_seconds) AS float8) AS answered_seconds
    FROM (
        SELECT outcome, calls, answered, answered_seconds FROM calls_per_day
        WHERE tenant_id = :tenant AND day >= :wholeFrom AND day < :wholeTo AND (CAST(:campaign AS uuid) IS NULL OR campaign_id = :campaign)
        UNION ALL
        SELECT outcome, calls, answered, answered_seconds FROM (${rawCalls(rawCounts('COALESCE(outcome, \'unknown\') AS outcome'))}) edges
    ) pieces
    GROUP BY outcome`);


const byOutcome = (db: Db, tenantId: string, campaignId: string | null, pieces: Pieces) => byOutcomeStatement.run(db, { tenant: tenantId, campaign: campaignId, ...pieces });


const rangeOf = (resolved: Resolved) => ({ from: resolved.from ?? allTime.from, to: resolved.to ?? allTime.to });


const average = (seconds: number, calls: number) => (calls ? Math.round(seconds / calls * 10) / 10 : 0);


const activeCampaigns = new Statement<{ count: number }>('talky-analytics-active', `
    SELECT count(*) AS count FROM campaigns WHERE tenant_id = :tenant AND status = 'running' AND deleted_at IS NULL`);


// Live-answered and abandoned calls per campaign over several periods at once (one snapshot), each
// in layers: whole days, whole quarter hours, the rest from the calls. The campaigns are those
// with live-answered calls in any period, and the one asked for in any case; period is null for
// the one asked for that has none.

interface AnswerRow {
    campaign_id: string;
    name: string;
    period: string | null;
    live_answered: number;
    abandoned: number;
}


const answersStatement = new Statement<AnswerRow>('talky-analytics-abandonment', `
    WITH counted AS (
        SELECT w.period, p.campaign_id, CAST(sum(p.live_answered) AS integer) AS live_answered, CAST(sum(p.abandoned) AS integer) AS abandoned
        FROM unnest(CAST(:periods AS text[]), CAST(:froms AS timestamptz[]), CAST(:tos AS timestamptz[]), CAST(:quarterFroms AS timestamptz[]),
            CAST(:quarterTos AS timestamptz[]), CAST(:dayFroms AS timestamptz[]), CAST(:dayTos AS timestamptz[])) AS w (period, from_at, to_at, quarter_from, quarter_to, day_from, day_to)
        CROSS JOIN LATERAL (
            SELECT campaign_id, live_answered, abandoned FROM calls_per_day
            WHERE tenant_id = :tenant AND day >= w.day_from AND day < w.day_to AND live_answered > 0 AND (CAST(:campaign AS uuid) IS NULL OR campaign_id = :campaign)
            UNION ALL
            SELECT campaign_id, live_answered, abandoned FROM calls_per_quarter_hour
            WHERE tenant_id = :tenant AND quarter_hour >= w.quarter_from AND quarter_hour < w.day_from AND live_answered > 0 AND (CAST(:campaign AS uuid) IS NULL OR campaign_id = :campaign)
            UNION ALL
            SELECT campaign_id, live_answered, abandoned FROM calls_per_quarter_hour
            WHERE tenant_id = :tenant AND quarter_hour >= w.day_to AND quarter_hour < w.quarter_to AND live_answered > 0 AND (CAST(:campaign AS uuid) IS NULL OR campaign_id = :campaign)
            UNION ALL
            ${rawAnswers(`campaign_id, 1 AS live_answered, ${abandonedOne}`, [['w.from_at', 'w.quarter_from'], ['w.quarter_to', 'w.to_at']])}
        ) p
        GROUP BY 1, 2
    )
    SELECT m.id AS campaign_id, m.name, c.period, COALESCE(c.live_answered, 0) AS live_answered, COALESCE(c.abandoned, 0) AS abandoned
    FROM campaigns m LEFT JOIN counted c ON c.campaign_id = m.id
    WHERE m.tenant_id = :tenant AND (m.id = :campaign OR m.id IN (SELECT campaign_id FROM counted))`);


interface Period {
    from: Date;
    to: Date;
}


const answersOver = (db: Db, tenantId: string, campaignId: string | null, periods: Record<string, Period>) => {

    const named = Object.entries(periods).map(([name, period]) => ({ name, ...layers(period.from, period.to) }));
    const column = (pick: (layer: Layers) => Date) => named.map((layer) => pick(layer).toISOString());
    return answersStatement.run(db, {
        tenant: tenantId, campaign: campaignId, periods: named.map((layer) => layer.name),
        froms: column((layer) => layer.from), tos: column((layer) => layer.to),
        quarterFroms: column((layer) => layer.quarterFrom), quarterTos: column((layer) => layer.quarterTo),
        dayFroms: column((layer) => layer.dayFrom), dayTos: column((layer) => layer.dayTo)
    });
};


export const stats = async (db: Db, tenantId: string, range: Range) => {

    const resolved = range.from || range.to ? await resolve(db, tenantId, range) : { zone: 'UTC', from: null, to: null };
    const { from, to } = rangeOf(resolved);
    const [rows, answers, [active]] = await Promise.all([
        byOutcome(db, tenantId, null, split(from, to, day)),
        answersOver(db, tenantId, null, { range: { from, to } }),
        activeCampaigns.run(db, { tenant: tenantId })
    ]);

    const sum = (pick: (row: OutcomeRow) => number, only?: Set<string>) => rows.reduce((total, row) => total + (!only || only.has(row.outcome) ? pick(row) : 0), 0);
    return {
        total_calls: sum((row) => row.calls),
        successful_calls: sum((row) => row.calls, Outcomes.successful),
        failed_calls: sum((row) => row.calls, Outcomes.failed),
        average_duration: average(sum((row) => row.answered_seconds), sum((row) => row.answered)),
        active_campaigns: active!.count,
        abandonment_rate: percent(answers.reduce((total, row) => total + row.abandoned, 0), answers.reduce((total, row) => total + row.live_answered, 0))
    };
};


export const outcomes = async (db: Db, tenantId: string, range: Range) => {

    const resolved = range.from || range.to || range.campaign_id ? await resolve(db, tenantId, range) : { zone: 'UTC', from: null, to: null };
    const { from, to } = rangeOf(resolved);
    const rows = (await byOutcome(db, tenantId, range.campaign_id ?? null, split(from, to, day)))
        .filter((row) => row.calls > 0)
        .sort((a, b) => b.calls - a.calls || a.outcome.localeCompare(b.outcome));

    const shares = Outcomes.shares(rows.map((row) => row.calls));
    return {
        campaign_id: range.campaign_id ?? null,
        from: resolved.from,
        to: resolved.to,
        total: rows.reduce((total, row) => total + row.calls, 0),
        outcomes: rows.map((row, i) => ({ outcome: row.outcome, count: row.calls, share: shares[i]! }))
    };
};


// Abandonment per campaign: its counts over the range, and its rates over the campaign stats'
// windows up to now, whatever the range. A window reaches every answer from its start on, as the
// campaign stats' do; unlike them it counts only ended calls, as every count here does.

export const abandonment = async (db: Db, tenantId: string, range: Range, now: Date) => {

    const resolved = range.from || range.to || range.campaign_id ? await resolve(db, tenantId, range) : { zone: 'UTC', from: null, to: null };
    const periods: Record<string, Period> = { range: rangeOf(resolved) };
    for (const window of windows) {
        periods[window.name] = { from: new Date(now.getTime() - window.ms), to: allTime.to };
    }

    const campaigns = new Map<string, { campaign_id: string; name: string; counts: Map<string, AnswerRow> }>();
    for (const row of await answersOver(db, tenantId, range.campaign_id ?? null, periods)) {
        const campaign = campaigns.get(row.campaign_id) ?? { campaign_id: row.campaign_id, name: row.name, counts: new Map() };
        campaigns.set(row.campaign_id, campaign);
        if (row.period) {
            campaign.counts.set(row.period, row);
        }
    }

    const rows = [...campaigns.values()].map(({ campaign_id, name, counts }) => {

        const rateOf = (period: string) => percent(counts.get(period)?.abandoned ?? 0, counts.get(period)?.live_answered ?? 0);
        return {
            campaign_id,
            name,
            live_answered: counts.get('range')?.live_answered ?? 0,
            abandoned: counts.get('range')?.abandoned ?? 0,
            abandonment_rate: rateOf('range'),
            abandonment_rate_30d: rateOf('30d'),
            abandonment_rate_24h: rateOf('24h')
        };
    });

    rows.sort((a, b) => b.abandonment_rate_30d - a.abandonment_rate_30d || a.name.localeCompare(b.name) || a.campaign_id.localeCompare(b.campaign_id));
    const liveAnswered = rows.reduce((total, row) => total + row.live_answered, 0);
    const abandoned = rows.reduce((total, row) => total + row.abandoned, 0);
    return {
        campaign_id: range.campaign_id ?? null,
        from: resolved.from,
        to: resolved.to,
        live_answered: liveAnswered,
        abandoned,
        abandonment_rate: percent(abandoned, liveAnswered),
        campaigns: rows
    };
};


// Calls over time in buckets of the zone. The buckets' starts are the zone's own (PostgreSQL's
// date_trunc in the zone, so a day of a daylight-saving change is 23 or 25 hours and the repeated
// hour is two buckets); the first and the last count only what falls inside from..to. Every
// bucket that meets the range is listed, the empty ones with zeros.

const units: Record<Bucket, { hours: number; step: string; span: string }> = {
    hour: { hours: 1, step: '15 minutes', span: '47 hours' },          // the default ranges: 48 hours, 30 days, 13 weeks
    day: { hours: 24, step: '1 hour', span: '29 days' },
    week: { hours: 168, step: '1 day', span: '12 weeks' }
};


interface BucketRow {
    local: string;
    offset_seconds: number;
    calls: number;
    answered: number;
    answered_seconds: number;
    billed_minutes: number;
    live_answered: number;
    abandoned: number;
}


// The bucket starts: the zone's start of every unit met by points no further apart than the
// shortest unit can be (a day of 23 hours, an hour of 30 minutes at Lord Howe), and by the last instant

const seriesStatement = new Statement<BucketRow>('talky-analytics-series', `
    WITH bounds AS (
        SELECT array_agg(b ORDER BY b) AS starts FROM (
            SELECT date_trunc(:unit, g, :zone) AS b FROM generate_series(CAST(:from AS timestamptz), CAST(:to AS timestamptz), CAST(:step AS interval)) g WHERE g < :to
            UNION
            SELECT date_trunc(:unit, CAST(:to AS timestamptz) - interval '1 microsecond', :zone)
        ) points
    ),
    pieces AS (
        SELECT quarter_hour AS at, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned FROM calls_per_quarter_hour
        WHERE tenant_id = :tenant AND quarter_hour >= :wholeFrom AND quarter_hour < :wholeTo AND CAST(:campaign AS uuid) IS NULL
        UNION ALL
        SELECT quarter_hour AS at, calls, answered, answered_seconds, billed_minutes, live_answered, abandoned FROM calls_per_quarter_hour
        WHERE tenant_id = :tenant AND campaign_id = :campaign AND quarter_hour >= :wholeFrom AND quarter_hour < :wholeTo
        UNION ALL
        SELECT * FROM (${rawCalls(rawCounts('created_at AS at'))}
            UNION ALL ${rawAnswers(answerCounts(`${answerAt} AS at`), [[':from', ':wholeFrom'], [':wholeTo', ':to']])}) edges
    ),
    counted AS (
        SELECT GREATEST(width_bucket(p.at, bounds.starts), 1) AS i, sum(calls) AS calls, sum(answered) AS answered, sum(answered_seconds) AS answered_seconds, sum(billed_minutes) AS billed_minutes,
            sum(live_answered) AS live_answered, sum(abandoned) AS abandoned
        FROM pieces p CROSS JOIN bounds
        GROUP BY 1
    )
    SELECT CAST(bounds.starts[n.i] AT TIME ZONE :zone AS text) AS local,
        CAST(extract(epoch FROM (bounds.starts[n.i] AT TIME ZONE :zone) - (bounds.starts[n.i] AT TIME ZONE 'UTC')) AS integer) AS offset_seconds,
        CAST(COALESCE(c.calls, 0) AS integer) AS calls, CAST(COALESCE(c.answered, 0) AS integer) AS answered,
        CAST(COALESCE(c.answered_seconds, 0) AS float8) AS answered_seconds, CAST(COALESCE(c.billed_minutes, 0) AS float8) AS billed_minutes,
        CAST(COALESCE(c.live_answered, 0) AS integer) AS live_answered, CAST(COALESCE(c.abandoned, 0) AS integer) AS abandoned
    FROM bounds CROSS JOIN generate_subscripts(bounds.starts, 1) AS n (i)
    LEFT JOIN counted c ON c.i = n.i
    ORDER BY n.i`);


// 2026-03-08 00:00:00 and -18000 -> 2026-03-08T00:00:00-05:00

const withOffset = (local: string, seconds: number) => {

    const minutes = Math.abs(Math.round(seconds / 60));
    const offset = `${seconds < 0 ? '-' : '+'}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
    return `${local.replace(' ', 'T')}${offset}`;
};


export const calls = async (db: Db, tenantId: string, range: Range & { bucket?: Bucket; timezone?: string }, now: Date) => {

    const bucket = range.bucket ?? 'day';
    const unit = units[bucket];
    const resolved = await resolve(db, tenantId, range, { zone: range.timezone, now, unit: bucket, span: range.from ? undefined : unit.span });
    const from = resolved.from!;
    const to = resolved.to!;

    // The bucket count, by the unit's usual length, with room for the partial ends

    if ((to.getTime() - from.getTime()) / (unit.hours * 3600 * 1000) > maxBuckets - 1) {
        throw Boom.badRequest(`The range holds more than ${maxBuckets} ${bucket} buckets: shorten it or choose a longer bucket`);
    }

    const rows = await seriesStatement.run(db, {
        tenant: tenantId, campaign: range.campaign_id ?? null, zone: resolved.zone, unit: bucket, step: unit.step, ...split(from, to, quarterHour)
    });

    return {
        bucket,
        timezone: resolved.zone,
        campaign_id: range.campaign_id ?? null,
        from,
        to,
        buckets: rows.map((row) => ({
            start: withOffset(row.local, row.offset_seconds),
            total_calls: row.calls,
            answered_calls: row.answered,
            answered_rate: row.calls ? Math.round(row.answered / row.calls * 10_000) / 10_000 : 0,
            average_duration: average(row.answered_seconds, row.answered),
            minutes_used: row.billed_minutes,
            live_answered: row.live_answered,
            abandoned: row.abandoned
        }))
    };
};


// The counts made again from the calls (see calls_analytics_rebuild in the migration)

export const rebuild = async (db: Db, tenantId: string | null) => {

    const { rows: [row] } = await db.raw<{ rows: Array<{ calls: number }> }>('SELECT calls_analytics_rebuild(?) AS calls', [tenantId]);
    return { tenant_id: tenantId, calls: row!.calls };
};
