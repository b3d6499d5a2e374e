import Joi from 'joi';


// A person is named by a number (any format a contact may be written in) or an email, or both

export const subjectInput = Joi.object({
    phone_number: Joi.string().trim().min(1).max(64).description('The person\'s number, in any format a contact may be written in'),
    email: Joi.string().trim().email({ tlds: false }).max(254).description('The person\'s email, matched without regard to case')
}).or('phone_number', 'email').label('PrivacySubject');


const row = Joi.object().unknown(true);

const count = Joi.number().integer().min(0).required();

const counts = Joi.object({ leads: count, calls: count, events: count, turns: count, recordings: count, dnc: count }).label('PrivacyCounts');


export const exported = Joi.object({
    subject: Joi.object({ phone_number: Joi.string().allow(null).required(), email: Joi.string().allow(null).required() }).required(),
    leads: Joi.array().items(row.keys({ id: Joi.string().guid().required(), campaign_id: Joi.string().guid().required(), campaign_name: Joi.string().required() })).required(),
    calls: Joi.array().items(row.keys({
        id: Joi.string().guid().required(),
        campaign_name: Joi.string().required(),
        events: Joi.array().items(Joi.object({ status: Joi.string().required(), payload: Joi.object().unknown(true).required(), received_at: Joi.date().required() })).required()
    })).required(),
    transcripts: Joi.array().items(Joi.object({ call_id: Joi.string().guid().required(), turns: Joi.array().items(row).required() })).required(),
    recordings: Joi.array().items(Joi.object({
        id: Joi.string().guid().required(),
        call_id: Joi.string().guid().required(),
        storage_key: Joi.string().required(),
        size_bytes: Joi.number().integer().required(),
        started_at: Joi.date().allow(null).required(),
        ended_at: Joi.date().allow(null).required(),
        created_at: Joi.date().required()
    })).required().description('Metadata only: the audio is served by the recordings API'),
    dnc_numbers: Joi.array().items(Joi.object({
        phone_number: Joi.string().required(),
        kept_as: Joi.string().valid('number', 'hash').required().description('hash: the list holds only the number\'s hash (the person was erased), and still refuses it'),
        reason: Joi.string().allow('', null).required(),
        call_id: Joi.string().guid().allow(null).required(),
        created_at: Joi.date().required()
    })).required(),
    counts: counts.required()
}).label('PrivacyExport');


export const erased = Joi.object({ erased: counts.required() }).label('PrivacyErasure');


const days = Joi.number().integer().min(1).max(36500).allow(null);

// Kept on the tenant, among its settings: how long recordings and transcripts are kept

export const tenantSettings = {
    recording_retention_days: days.description('Days a recording is kept; null keeps it for ever. An hourly sweep deletes what is older.'),
    transcript_retention_days: days.description('Days a transcript is kept; null keeps it for ever. An hourly sweep deletes what is older.')
};
