import Joi from 'joi';


export const planId = Joi.string().trim().lowercase().max(64).pattern(/^[a-z0-9][a-z0-9_-]*$/).messages({ 'string.pattern.base': '{{#label}} is not a plan id' });

export const plan = Joi.object({
    id: Joi.string().required(),
    name: Joi.string().required(),
    description: Joi.string().allow(null).required(),
    price: Joi.number().required(),
    currency: Joi.string().length(3).required(),
    minutes: Joi.number().integer().required(),
    max_concurrent_calls: Joi.number().integer().required(),
    features: Joi.array().items(Joi.string()).required()
}).label('Plan');
