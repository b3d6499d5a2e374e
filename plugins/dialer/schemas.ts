import Joi from 'joi';

import { page, pageQuery } from '../../core/schemas';
import { jobStatuses } from './outcomes';


export const campaignParams = Joi.object({ campaign_id: Joi.string().guid().required() });

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
    goals_achieved: Joi.number().integer().required()
}).label('CampaignStats');
