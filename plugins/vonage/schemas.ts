import Joi from 'joi';


// Vonage's webhook shapes: only what Talky relies on is required, anything else is let through

export const callRef = {
    call_id: Joi.string().max(100).description('Talky\'s call id, put on the URL when the call was placed'),
    attempt: Joi.number().integer().min(0).description('The attempt of the call, its fencing token')
};


const answerFields = {
    to: Joi.string().allow(''),
    from: Joi.string().allow(''),
    uuid: Joi.string().required().description('The call\'s id at Vonage'),
    conversation_uuid: Joi.string()
};


export const answerQuery = Joi.object({ ...callRef, ...answerFields }).unknown().label('VonageAnswerQuery');

export const callRefQuery = Joi.object(callRef).unknown().label('VonageCallRef');

export const answerBody = Joi.object(answerFields).unknown().label('VonageAnswer');


const text = Joi.alternatives(Joi.string().allow(''), Joi.number());


export const eventBody = Joi.object({
    status: Joi.string().required(),
    uuid: Joi.string(),
    call_uuid: Joi.string().description('What machine and human events carry instead of uuid'),
    conversation_uuid: Joi.string(),
    timestamp: Joi.string(),
    start_time: Joi.string().allow(null),
    end_time: Joi.string().allow(null),
    duration: text.allow(null),
    rate: text.allow(null),
    price: text.allow(null),
    detail: Joi.string(),
    sub_state: Joi.string()
}).or('uuid', 'call_uuid').unknown().label('VonageEvent');


export const recordingBody = Joi.object({
    recording_url: Joi.string().uri({ scheme: ['http', 'https'] }).required(),
    recording_uuid: Joi.string().required(),
    start_time: Joi.string(),
    end_time: Joi.string(),
    size: text,
    conversation_uuid: Joi.string()
}).unknown().label('VonageRecording');


export const ncco = Joi.array().items(Joi.object({ action: Joi.string().required() }).unknown()).label('Ncco');
