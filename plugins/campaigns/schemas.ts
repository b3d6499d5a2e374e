import Joi from 'joi';

import { timezone } from '../../core/schemas';
import { disclosureModes } from './disclosure';


const hhmm = Joi.string().pattern(/^([01]\d|2[0-3]):[0-5]\d$/).messages({ 'string.pattern.base': '{{#label}} must be a time as HH:MM' });

const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];


export const scriptConfig = Joi.object({
    agent_name: Joi.string().trim().max(100),
    company_name: Joi.string().trim().max(200),
    greeting: Joi.string().trim().max(2000),
    closing: Joi.string().trim().max(2000),
    voicemail_message: Joi.string().trim().max(2000),
    objection_handling: Joi.string().max(10000),
    faq: Joi.array().max(100).items(Joi.object({ question: Joi.string().max(1000).required(), answer: Joi.string().max(4000).required() })),
    transfer_number: Joi.string().trim().pattern(/^\+[1-9]\d{6,14}$/).messages({ 'string.pattern.base': '{{#label}} must be a phone number in E.164, such as +12125550123' }).description('Where the agent transfers callers who ask for a human')
});

export const callingConfig = Joi.object({
    time_window_start: hhmm,
    time_window_end: hhmm,
    timezone,
    days: Joi.array().items(Joi.string().lowercase().valid(...days)).unique().min(1),
    enforce_local_hours: Joi.boolean(),
    retry_backoff: Joi.number().min(1).max(10),
    ringing_timeout_seconds: Joi.number().integer().min(15).max(120),
    machine_detection: Joi.boolean(),
    record: Joi.boolean(),
    require_consent: Joi.boolean().description('Call only leads with a consent_at; the others are skipped as no_consent (default false)'),
    opt_out_digit: Joi.string().valid('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#').description('The key a person presses to stop the calls (default 9)'),
    max_abandonment_rate: Joi.number().min(0).max(100).description('Percent of live-answered calls abandoned (first audio later than 2 s) over 30 days or 24 hours at which the campaign pauses itself (default 3)')
}).custom((value, helpers) => {

    if (value.time_window_start && value.time_window_end && value.time_window_start >= value.time_window_end) {
        return helpers.message({ custom: '"calling_config.time_window_end" must be later than "calling_config.time_window_start"' });
    }

    return value;
});


const editable = {
    name: Joi.string().trim().min(1).max(200),
    description: Joi.string().trim().max(2000).allow('', null),
    system_prompt: Joi.string().max(20000).allow('', null),
    voice_id: Joi.string().trim().max(200).allow(null),
    goal: Joi.string().trim().max(500).allow('', null),
    client_id: Joi.string().guid().allow(null),
    phone_region: Joi.string().uppercase().pattern(/^[A-Z]{2}$/).allow(null).messages({ 'string.pattern.base': '{{#label}} must be a two-letter country code' }),
    max_concurrent_calls: Joi.number().integer().min(1).max(1000),
    max_retries: Joi.number().integer().min(0).max(10),
    retry_delay_seconds: Joi.number().integer().min(60).max(7 * 24 * 3600),
    script_config: scriptConfig,
    calling_config: callingConfig
};

export const create = Joi.object({ ...editable, name: editable.name.required() });

export const update = Joi.object(editable).min(1).messages({ 'object.min': 'Name at least one field to change' });

export const campaignId = Joi.object({ campaign_id: Joi.string().guid().required() });


export const statuses = ['draft', 'running', 'paused', 'stopped', 'completed'];

export const campaign = Joi.object({
    id: Joi.string().guid().required(),
    name: Joi.string().required(),
    description: Joi.string().allow('', null).required(),
    status: Joi.string().valid(...statuses).required(),
    paused_reason: Joi.string().allow(null).required().description('Why the campaign was paused, when someone other than its owner paused it (a suspension)'),
    system_prompt: Joi.string().allow('', null).required(),
    voice_id: Joi.string().allow(null).required(),
    goal: Joi.string().allow('', null).required(),
    client_id: Joi.string().guid().allow(null).required(),
    phone_region: Joi.string().allow(null).required(),
    max_concurrent_calls: Joi.number().integer().required(),
    max_retries: Joi.number().integer().required(),
    retry_delay_seconds: Joi.number().integer().required(),
    script_config: Joi.object().unknown().required(),
    calling_config: Joi.object().unknown().required(),
    total_leads: Joi.number().integer().required(),
    calls_completed: Joi.number().integer().required(),
    calls_failed: Joi.number().integer().required(),
    created_at: Joi.date().required(),
    updated_at: Joi.date().required(),
    warnings: Joi.array().items(Joi.string()).description('What Talky changed in the campaign as it was saved, such as a disclosure added to the greeting')
}).label('Campaign');

export const campaigns = Joi.object({ campaigns: Joi.array().items(campaign).required() }).label('Campaigns');


export const clientInput = Joi.object({
    name: Joi.string().trim().min(1).max(200).required(),
    email: Joi.string().trim().lowercase().max(254).email({ tlds: { allow: false } }).allow(null),
    phone: Joi.string().trim().max(32).allow(null),
    notes: Joi.string().max(5000).allow('', null)
});

export const client = Joi.object({
    id: Joi.string().guid().required(),
    name: Joi.string().required(),
    email: Joi.string().allow(null).required(),
    phone: Joi.string().allow(null).required(),
    notes: Joi.string().allow('', null).required(),
    created_at: Joi.date().required(),
    updated_at: Joi.date().required()
}).label('Client');

export const clients = Joi.object({ clients: Joi.array().items(client).required() }).label('Clients');

export const clientId = Joi.object({ client_id: Joi.string().guid().required() });


// Kept on the tenant: whether a greeting without the AI disclosure gets one added or is refused

export const tenantSettings = {
    disclosure_mode: Joi.string().valid(...disclosureModes).description('A campaign greeting that does not say it is an AI assistant calling for the business: add a disclosure sentence (with a warning), or refuse the campaign (400)')
};
