import Joi from 'joi';

import { page, pageQuery } from '../../core/schemas';
import { liveCallStatuses, outcomes } from '../dialer/outcomes';


// What the dialer writes into calls.status and calls.outcome: a filter outside them is a typo

export const callStatuses = [...liveCallStatuses, 'completed'];


// created_at from (included) to (excluded)

const period = {
    from: Joi.date().iso().description('Created at or after this time (ISO 8601)'),
    to: Joi.date().iso()
        .when('from', { is: Joi.exist(), then: Joi.date().min(Joi.ref('from')) })
        .messages({ 'date.min': '{{#label}} must not be before "from"' })
        .description('Created before this time (ISO 8601)')
};

export const callsQuery = Joi.object({
    ...pageQuery,
    ...period,
    campaign_id: Joi.string().guid(),
    outcome: Joi.string().valid(...outcomes),
    status: Joi.string().valid(...callStatuses),
    phone: Joi.string().trim().min(1).max(64).description('The number called, in any format a contact may be written in')
});

export const recordingsQuery = Joi.object({
    ...pageQuery,
    ...period,
    call_id: Joi.string().guid(),
    campaign_id: Joi.string().guid()
});

export const callParams = Joi.object({ call_id: Joi.string().guid().required() });

export const recordingParams = Joi.object({ recording_id: Joi.string().guid().required() });


export const recording = Joi.object({
    id: Joi.string().guid().required(),
    call_id: Joi.string().guid().required(),
    campaign_id: Joi.string().guid().required(),
    size_bytes: Joi.number().integer().required(),
    duration_seconds: Joi.number().integer().allow(null).required().description('From started_at to ended_at, when both are known'),
    content_type: Joi.string().required(),
    started_at: Joi.date().allow(null).required(),
    ended_at: Joi.date().allow(null).required(),
    created_at: Joi.date().required(),
    download_url: Joi.string().required()
}).label('Recording');

export const recordingPage = page(recording, 'RecordingPage');


export const call = Joi.object({
    id: Joi.string().guid().required(),
    campaign_id: Joi.string().guid().required(),
    campaign_name: Joi.string().required(),
    lead_id: Joi.string().guid().required(),
    phone_number: Joi.string().required(),
    status: Joi.string().required(),
    outcome: Joi.string().allow(null).required(),
    goal_achieved: Joi.boolean().required(),
    machine: Joi.boolean().required(),
    attempt: Joi.number().integer().required(),
    duration_seconds: Joi.number().integer().required(),
    billed_minutes: Joi.number().integer().required(),
    answered_at: Joi.date().allow(null).required(),
    ended_at: Joi.date().allow(null).required(),
    created_at: Joi.date().required(),
    has_recording: Joi.boolean().required()
}).label('Call');

export const callPage = page(call, 'CallPage');

export const callDetail = call.keys({
    lead: Joi.object({
        id: Joi.string().guid().required(),
        first_name: Joi.string().allow('', null).required(),
        last_name: Joi.string().allow('', null).required(),
        phone_number: Joi.string().required()
    }).required(),
    campaign: Joi.object({ id: Joi.string().guid().required(), name: Joi.string().required() }).required(),
    recordings: Joi.array().items(recording).required(),
    events: Joi.array().items(Joi.object({ status: Joi.string().required(), received_at: Joi.date().required() })).required().description('The provider\'s status reports, as received'),
    latency: Joi.object({
        turns: Joi.number().integer().required().description('Turns of the conversation, both speakers'),
        mean_response_ms: Joi.number().allow(null).required().description('Over the agent\'s measured replies: caller\'s end of speech to the first audio back'),
        max_response_ms: Joi.number().allow(null).required()
    }).required()
}).label('CallDetail');


const latency = Joi.object({
    response_ms: Joi.number().required(),
    endpointing_ms: Joi.number().allow(null).required(),
    stt_ms: Joi.number().allow(null).required(),
    llm_ms: Joi.number().allow(null).required(),
    tts_ms: Joi.number().allow(null).required(),
    overhead_ms: Joi.number().allow(null).required()
}).label('TurnLatency');

export const transcript = Joi.object({
    call_id: Joi.string().guid().required(),
    turns: Joi.array().items(Joi.object({
        seq: Joi.number().integer().required(),
        speaker: Joi.string().valid('agent', 'caller').required(),
        text: Joi.string().allow('').required(),
        started_ms: Joi.number().integer().required(),
        ended_ms: Joi.number().integer().required(),
        interrupted: Joi.boolean().required(),
        latency: latency.allow(null).required()
    })).required()
}).label('Transcript');
