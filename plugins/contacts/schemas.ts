import Joi from 'joi';

import { page, pageQuery as paging } from '../../core/schemas';


const scalar = Joi.alternatives(Joi.string().max(2000), Joi.number(), Joi.boolean(), null);

export const contact = Joi.object({
    phone_number: Joi.string().trim().min(1).max(64).required(),
    first_name: Joi.string().trim().max(200).allow('', null),
    last_name: Joi.string().trim().max(200).allow('', null),
    email: Joi.string().trim().lowercase().max(254).email({ tlds: { allow: false } }).allow('', null),
    custom_fields: Joi.object().pattern(Joi.string().max(100), scalar).max(100),
    priority: Joi.number().integer().min(1).max(10),
    is_high_value: Joi.boolean(),
    tags: Joi.array().items(Joi.string().trim().min(1).max(100)).max(50),
    consent_at: Joi.date().iso().allow(null),
    consent_source: Joi.string().trim().max(500).allow('', null)
});

export const bulk = Joi.object({
    campaign_id: Joi.string().guid().required(),
    contacts: Joi.array().items(Joi.object().unknown()).min(1).max(10_000).required(),
    skip_duplicates: Joi.boolean().default(true)
});

export const campaignParams = Joi.object({ campaign_id: Joi.string().guid().required() });

export const contactParams = Joi.object({ campaign_id: Joi.string().guid().required(), contact_id: Joi.string().guid().required() });

export const listQuery = Joi.object({
    ...paging,
    status: Joi.string().max(40),
    last_call_result: Joi.string().max(40)
});

export const uploadQuery = Joi.object({ skip_duplicates: Joi.boolean().default(true) });

export const pageQuery = Joi.object(paging);

export const dncInput = Joi.object({
    phone_number: Joi.string().trim().min(1).max(64).required(),
    reason: Joi.string().trim().max(500).allow('', null)
});

export const dncParams = Joi.object({ phone_number: Joi.string().trim().min(1).max(64).required() });


export const lead = Joi.object({
    id: Joi.string().guid().required(),
    campaign_id: Joi.string().guid().required(),
    phone_number: Joi.string().required(),
    first_name: Joi.string().allow('', null).required(),
    last_name: Joi.string().allow('', null).required(),
    email: Joi.string().allow('', null).required(),
    country: Joi.string().allow(null).required(),
    timezones: Joi.array().items(Joi.string()).required(),
    custom_fields: Joi.object().unknown().required(),
    priority: Joi.number().integer().required(),
    is_high_value: Joi.boolean().required(),
    tags: Joi.array().items(Joi.string()).required(),
    consent_at: Joi.date().allow(null).required(),
    consent_source: Joi.string().allow(null).required(),
    status: Joi.string().required(),
    last_call_result: Joi.string().allow(null).required(),
    last_called_at: Joi.date().allow(null).required(),
    call_attempts: Joi.number().integer().required(),
    created_at: Joi.date().required(),
    updated_at: Joi.date().required()
}).label('Contact');

export const leadPage = page(lead, 'ContactPage');

export const importResult = Joi.object({
    total_rows: Joi.number().integer().required(),
    imported: Joi.number().integer().required(),
    failed: Joi.number().integer().required(),
    duplicates_skipped: Joi.number().integer().required(),
    without_consent: Joi.number().integer().description('Imported rows without consent_at, for a campaign that requires consent'),
    errors: Joi.array().items(Joi.object({ row: Joi.number().integer().required(), error: Joi.string().required(), phone: Joi.string().allow(null).required() })).required()
}).label('ImportResult');

export const dncEntry = Joi.object({ phone_number: Joi.string().required(), reason: Joi.string().allow('', null).required(), created_at: Joi.date().required() }).label('DncNumber');

export const dncPage = page(dncEntry, 'DncPage');

export const dncUploadResult = Joi.object({ total_rows: Joi.number().integer().required(), added: Joi.number().integer().required(), failed: Joi.number().integer().required(), errors: importResult.extract('errors') }).label('DncUploadResult');
