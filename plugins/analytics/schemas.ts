import Joi from 'joi';

import { timezone } from '../../core/schemas';
import { abandonedAfterMs } from '../dialer/abandonment';


// A moment of a range: a date-time with its offset (Z or +05:30) is an instant; a date, or a
// date-time without an offset, is read in the time zone of the count (the tenant's, or the
// request's timezone), so from=2026-03-01 starts at that zone's midnight.

export interface Moment {
    text: string;
    local: boolean;
}


const momentPattern = /^([1-9]\d{3})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;


const asMoment = (raw: string): Moment | null => {

    const value = raw.replace(/(T[\d:.]+) (\d{2}:?\d{2})$/i, '$1+$2');           // a + left unencoded in a query string arrives as a space
    const parts = momentPattern.exec(value);
    if (!parts) {
        return null;
    }

    const [, year, month, date, hour = '0', minute = '0', second = '0', offset] = parts;
    const day = new Date(Date.UTC(Number(year), Number(month) - 1, Number(date)));
    if (day.getUTCMonth() !== Number(month) - 1 || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {              // 02-30 is in March
        return null;
    }

    if (offset && !/^(z|[+-](0\d|1[0-4]):?[0-5]\d)$/i.test(offset)) {
        return null;
    }

    return { text: value, local: !offset };
};


const moment = Joi.string().max(40).custom((value: string, helpers) => asMoment(value) ?? helpers.error('any.invalid'))
    .messages({ 'any.invalid': '{{#label}} must be an ISO 8601 date or date-time, such as 2026-03-01 or 2026-03-01T09:00:00Z' })
    .description('ISO 8601; a date, or a date-time without an offset, is read in the time zone of the count');


export const buckets = ['hour', 'day', 'week'] as const;

export type Bucket = typeof buckets[number];

export const maxBuckets = 1000;


const range = {
    from: moment.description('Start of the range, inclusive'),
    to: moment.description('End of the range, exclusive')
};

const campaignId = Joi.string().guid().description('Only this campaign\'s calls');


export const statsQuery = Joi.object(range);

export const callsQuery = Joi.object({
    ...range,
    campaign_id: campaignId,
    bucket: Joi.string().valid(...buckets).default('day').description('hour, day or week (weeks start on Monday) in the time zone'),
    timezone: timezone.description('The zone buckets are counted in; the tenant\'s by default')
});

export const outcomesQuery = Joi.object({ ...range, campaign_id: campaignId });

export const abandonmentQuery = Joi.object({ ...range, campaign_id: campaignId });


export const rebuildInput = Joi.object({ tenant_id: Joi.string().guid().description('Only this tenant\'s counts; every tenant\'s without it') }).allow(null);


const count = Joi.number().integer().min(0).required();

const rate = Joi.number().min(0).max(100).required();                  // a percent with two places, as the campaign stats give it

const liveAnswered = count.description('Ended calls answered by a person whose agent audio was measured, by the time of the answer');

const abandoned = count.description(`The live-answered calls whose agent audio started later than ${abandonedAfterMs / 1000} s after the answer`);


export const stats = Joi.object({
    total_calls: count,
    successful_calls: count,
    failed_calls: count,
    average_duration: Joi.number().min(0).required(),
    active_campaigns: count,
    abandonment_rate: rate.description('Percent of the live-answered calls in the range that were abandoned, over every campaign (0 without any)')
}).label('DashboardStats');


export const callBucket = Joi.object({
    start: Joi.string().required().description('The bucket\'s first instant, with the zone\'s offset then'),
    total_calls: count,
    answered_calls: count,
    answered_rate: Joi.number().min(0).max(1).required(),
    average_duration: Joi.number().min(0).required(),
    minutes_used: count,
    live_answered: liveAnswered,
    abandoned
}).label('CallBucket');

export const calls = Joi.object({
    bucket: Joi.string().valid(...buckets).required(),
    timezone: Joi.string().required(),
    campaign_id: Joi.string().guid().allow(null).required(),
    from: Joi.date().required(),
    to: Joi.date().required(),
    buckets: Joi.array().items(callBucket).required()
}).label('CallAnalytics');


export const outcomes = Joi.object({
    campaign_id: Joi.string().guid().allow(null).required(),
    from: Joi.date().allow(null).required(),
    to: Joi.date().allow(null).required(),
    total: count,
    outcomes: Joi.array().items(Joi.object({
        outcome: Joi.string().required(),
        count,
        share: Joi.number().min(0).max(1).required()
    }).label('OutcomeCount')).required()
}).label('OutcomeBreakdown');


export const abandonment = Joi.object({
    campaign_id: Joi.string().guid().allow(null).required(),
    from: Joi.date().allow(null).required(),
    to: Joi.date().allow(null).required(),
    live_answered: liveAnswered,
    abandoned,
    abandonment_rate: rate.description('Percent of the live-answered calls in the range that were abandoned (0 without any)'),
    campaigns: Joi.array().items(Joi.object({
        campaign_id: Joi.string().guid().required(),
        name: Joi.string().required(),
        live_answered: liveAnswered,
        abandoned,
        abandonment_rate: rate.description('The campaign\'s percent of abandoned calls in the range'),
        abandonment_rate_30d: rate.description('The campaign\'s percent of abandoned calls answered in the last 30 days, whatever the range'),
        abandonment_rate_24h: rate.description('The same over the last 24 hours')
    }).label('CampaignAbandonment')).required()
}).label('Abandonment');


export const rebuilt = Joi.object({
    tenant_id: Joi.string().guid().allow(null).required(),
    calls: count
}).label('AnalyticsRebuilt');
