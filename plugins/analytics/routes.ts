import type { ServerRoute } from '@hapi/hapi';

import type { Core } from '../../core/plugin';
import { callerOf, requireAdmin } from '../../core/tenancy';
import { abandonedAfterMs } from '../dialer/abandonment';
import * as Schemas from './schemas';
import * as Analytics from './service';


const counted = 'Calls count once they have ended, by the time they were placed (created_at).';

const outcomeClasses = 'successful_calls are conversations with a person (outcomes goal_achieved, goal_not_achieved, answered); ' +
    'failed_calls reached no one (busy, no_answer, failed, rejected, invalid, not_placed); voicemails are neither, so ' +
    'total_calls = successful_calls + failed_calls + voicemails.';

const ranges = 'from is inclusive, to exclusive; a date, or a date-time without an offset, is read in the tenant\'s time zone.';

const abandonment = `An abandoned call is a live-answered one (a person answered, no machine, and the voice agent measured it) whose agent audio started later than ${abandonedAfterMs / 1000} s after the answer; ` +
    'live-answered and abandoned calls count by the time of the answer (the placing when none was recorded). Rates are percents with two places, 0 without live-answered calls.';


export const routes = (core: Core): ServerRoute[] => {

    const { db, clock } = core;

    return [
        {
            method: 'GET',
            path: '/dashboard/stats',
            options: {
                description: 'The dashboard\'s summary of the tenant\'s calls',
                notes: [counted, outcomeClasses, 'average_duration is the mean talk time in seconds of answered calls (one decimal, 0 without any).',
                    'active_campaigns counts the campaigns running now, whatever the range.', `abandonment_rate is over every campaign. ${abandonment}`, `Without from and to: every call. ${ranges}`],
                tags: ['api', 'analytics'],
                validate: { query: Schemas.statsQuery },
                response: { schema: Schemas.stats },
                handler: (request) => Analytics.stats(db, callerOf(request.auth.credentials).tenant_id, request.query)
            }
        },
        {
            method: 'GET',
            path: '/analytics/calls',
            options: {
                description: 'Calls over time, in hour, day or week buckets of a time zone',
                notes: [counted, 'answered_calls were picked up (by a person or a machine); answered_rate is their share of total_calls (four places); ' +
                    'average_duration is their mean talk time in seconds; minutes_used sums the billed minutes.',
                `live_answered and abandoned: ${abandonment}`,
                'Buckets start at the zone\'s own hours, midnights and Mondays (a day of a daylight-saving change is 23 or 25 hours long); ' +
                    'every bucket that meets the range is listed, empty ones with zeros, and the first and the last count only what falls in the range.',
                `Without from: the 48 hours, 30 days or 13 weeks up to to (the current one included); without to: now. At most ${Schemas.maxBuckets} buckets. ` +
                    ranges.replace('the tenant\'s time zone', 'the time zone of the buckets')],
                tags: ['api', 'analytics'],
                validate: { query: Schemas.callsQuery },
                response: { schema: Schemas.calls },
                handler: (request) => Analytics.calls(db, callerOf(request.auth.credentials).tenant_id, request.query, clock.now())
            }
        },
        {
            method: 'GET',
            path: '/analytics/outcomes',
            options: {
                description: 'How the tenant\'s calls ended: a count and a share per outcome',
                notes: [counted, 'Outcomes with calls only, most frequent first; shares have four places and add up to 1.', `Without from and to: every call. ${ranges}`],
                tags: ['api', 'analytics'],
                validate: { query: Schemas.outcomesQuery },
                response: { schema: Schemas.outcomes },
                handler: (request) => Analytics.outcomes(db, callerOf(request.auth.credentials).tenant_id, request.query)
            }
        },
        {
            method: 'GET',
            path: '/analytics/abandonment',
            options: {
                description: 'Abandoned calls per campaign: over the range, and the rates over the last 30 days and 24 hours',
                notes: [counted, abandonment,
                    'live_answered, abandoned and abandonment_rate count the range; abandonment_rate_30d and abandonment_rate_24h count the answers of the last 30 days and 24 hours, ' +
                    'whatever the range, as GET /campaigns/{campaign_id}/stats does (which counts calls still in progress too).',
                    'The campaigns with live-answered calls in the range or the last 30 days (with campaign_id, that one), highest 30-day rate first.',
                    `Without from and to: every call. ${ranges}`],
                tags: ['api', 'analytics'],
                validate: { query: Schemas.abandonmentQuery },
                response: { schema: Schemas.abandonment },
                handler: (request) => Analytics.abandonment(db, callerOf(request.auth.credentials).tenant_id, request.query, clock.now())
            }
        },
        {
            method: 'POST',
            path: '/analytics/rebuild',
            options: {
                description: 'Count the analytics again from the calls (admin)',
                notes: 'The counts are kept with every call\'s change; this remakes them, for one tenant or all. Changes to calls wait while it runs.',
                tags: ['api', 'analytics'],
                auth: requireAdmin,
                validate: { payload: Schemas.rebuildInput },
                response: { schema: Schemas.rebuilt },
                handler: (request) => Analytics.rebuild(db, (request.payload as { tenant_id?: string } | null)?.tenant_id ?? null)
            }
        }
    ];
};
