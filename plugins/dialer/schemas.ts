import Joi from 'joi';

import { page, pageQuery } from '../../core/schemas';
import { jobStatuses } from './outcomes';


export const campaignParams = Joi.object({ campaign_id: Joi.string().guid().required() });

export const jobParams = Joi.object({ campaign_id: Joi.string().guid().required(), job_id: Joi.string().guid().required() });

export const startInput = Joi.object({
    priority_override: Joi.number().integer().min(1).max(10).allow(null),
    tenant_id: Joi.string().guid().allow(null)                      // honoured for admins only
}).allow(null);

export const jobsQuery = Joi.object({
    ...pageQuery,
    status: Joi.string().valid(...jobStatuses)
});


const control = {
    campaign_id: Joi.string().guid().required(),
    status: Joi.string().required(),
    message: Joi.string().required()
};

export const started = Joi.object({ ...control, jobs_queued: Joi.number().integer().required() }).label('CampaignStarted');

export const paused = Joi.object(control).label('CampaignPaused');

export const stopped = Joi.object({ ...control, jobs_cancelled: Joi.number().integer().required() }).label('CampaignStopped');


const decision = Joi.object({ at: Joi.string().required(), decision: Joi.string().required(), reason: Joi.string().allow(null).required() });

export const job = Joi.object({
    id: Joi.string().guid().required(),
    lead_id: Joi.string().guid().required(),
    phone_number: Joi.string().required(),
    status: Joi.string().valid(...jobStatuses).required(),
    priority: Joi.number().integer().required(),
    attempt: Joi.number().integer().required(),
    next_attempt_at: Joi.date().allow(null).required(),
    last_outcome: Joi.string().allow(null).required(),
    last_decision: Joi.string().allow(null).required(),
    decisions: Joi.array().items(decision).required(),
    created_at: Joi.date().required(),
    updated_at: Joi.date().required()
}).label('DialerJob');

export const jobPage = page(job, 'DialerJobPage');

const counts = Joi.object().pattern(Joi.string(), Joi.number().integer());

export const stats = Joi.object({
    campaign_id: Joi.string().guid().required(),
    campaign_status: Joi.string().required(),
    total_leads: Joi.number().integer().required(),
    job_status_counts: counts.required(),
    call_outcome_counts: counts.required(),
    goals_achieved: Joi.number().integer().required(),
    leads_without_consent: Joi.number().integer().required().description('Live leads without consent_at: never dialled when the campaign requires consent'),
    abandonment_rate_30d: Joi.number().required().description('Percent of live-answered calls abandoned (the agent\'s first audio later than 2 s after the answer) over the last 30 days'),
    abandonment_rate_24h: Joi.number().required().description('The same over the last 24 hours')
}).label('CampaignStats');


const isoDate = Joi.string().pattern(/^\d{4}-\d{2}-\d{2}$/).custom((value, helpers) => (new Date(`${value}T00:00:00Z`).toISOString().startsWith(value) ? value : helpers.error('any.invalid')))
    .messages({ 'string.pattern.base': '{{#label}} must be a date as YYYY-MM-DD', 'any.invalid': '{{#label}} must be a date that exists' });

export const holidayInput = Joi.object({
    date: isoDate.required(),
    name: Joi.string().trim().max(200).allow('', null)
});

export const holidayParams = Joi.object({ date: isoDate.required() });

export const holiday = Joi.object({ date: Joi.string().required(), name: Joi.string().allow(null).required() }).label('Holiday');

export const holidays = Joi.object({ holidays: Joi.array().items(holiday).required() }).label('Holidays');
