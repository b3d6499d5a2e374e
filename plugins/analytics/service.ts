import Boom from '@hapi/boom';

import { Statement, type Db } from '../../core/db';
import * as Outcomes from './outcomes';
import { allTime, day, quarterHour, split, type Pieces } from './periods';
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
    CASE WHEN answered_at IS NULL THEN 0 ELSE duration_seconds END AS answered_seconds, billed_minutes`;


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


export const stats = async (db: Db, tenantId: string, range: Range) => {

    const resolved = range.from || range.to ? await resolve(db, tenantId, range) : { zone: 'UTC', from: null, to: null };
    const { from, to } = rangeOf(resolved);
    const rows = await byOutcome(db, tenantId, null, split(from, to, day));
    const [active] = await activeCampaigns.run(db, { tenant: tenantId });

    const sum = (pick: (row: OutcomeRow) => number, only?: Set<string>) => rows.reduce((total, row) => total + (!only || only.has(row.outcome) ? pick(row) : 0), 0);
    return {
        total_calls: sum((row) => row.calls),
        successful_calls: sum((row) => row.calls, Outcomes.successful),
        failed_calls: sum((row) => row.calls, Outcomes.failed),
        average_duration: average(sum((row) => row.answered_seconds), sum((row) => row.answered)),
        active_campaigns: active!.count
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
        SELECT quarter_hour AS at, calls, answered, answered_seconds, billed_minutes FROM calls_per_quarter_hour
        WHERE tenant_id = :tenant AND quarter_hour >= :wholeFrom AND quarter_hour < :wholeTo AND CAST(:campaign AS uuid) IS NULL
        UNION ALL
        SELECT quarter_hour AS at, calls, answered, answered_seconds, billed_minutes FROM calls_per_quarter_hour
        WHERE tenant_id = :tenant AND campaign_id = :campaign AND quarter_hour >= :wholeFrom AND quarter_hour < :wholeTo
        UNION ALL
        SELECT * FROM (${rawCalls(rawCounts('created_at AS at'))}) edges
    ),
    counted AS (
        SELECT GREATEST(width_bucket(p.at, bounds.starts), 1) AS i, sum(calls) AS calls, sum(answered) AS answered, sum(answered_seconds) AS answered_seconds, sum(billed_minutes) AS billed_minutes
        FROM pieces p CROSS JOIN bounds
        GROUP BY 1
    )
    SELECT CAST(bounds.starts[n.i] AT TIME ZONE :zone AS text) AS local,
        CAST(extract(epoch FROM (bounds.starts[n.i] AT TIME ZONE :zone) - (bounds.starts[n.i] AT TIME ZONE 'UTC')) AS integer) AS offset_seconds,
        CAST(COALESCE(c.calls, 0) AS integer) AS calls, CAST(COALESCE(c.answered, 0) AS integer) AS answered,
        CAST(COALESCE(c.answered_seconds, 0) AS float8) AS answered_seconds, CAST(COALESCE(c.billed_minutes, 0) AS float8) AS billed_minutes
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
            minutes_used: row.billed_minutes
        }))
    };
};


// The counts made again from the calls (see calls_analytics_rebuild in the migration)

export const rebuild = async (db: Db, tenantId: string | null) => {

    const { rows: [row] } = await db.raw<{ rows: Array<{ calls: number }> }>('SELECT calls_analytics_rebuild(?) AS calls', [tenantId]);
    return { tenant_id: tenantId, calls: row!.calls };
};
