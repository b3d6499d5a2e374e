import Joi from 'joi';

import { planId } from '../plans/schemas';


export const email = Joi.string().trim().lowercase().max(254).email({ tlds: { allow: false } });

const text = Joi.string().trim().min(1).max(200);


export const registration = Joi.object({
    email: email.required(),
    business_name: text.required(),
    plan_id: planId.required(),
    name: text
});

export const login = Joi.object({ email: email.required() });

export const token = Joi.object({ token: Joi.string().trim().max(200).required() });


const role = Joi.string().valid('user', 'owner', 'admin');

export const currentUser = Joi.object({
    id: Joi.string().guid().allow(null).required(),
    email: Joi.string().allow(null).required(),
    name: Joi.string().allow(null).required(),
    business_name: Joi.string().allow(null).required(),
    tenant_id: Joi.string().guid().required(),
    role: role.required(),
    minutes_remaining: Joi.number().integer().required()
}).label('CurrentUser');

export const registered = Joi.object({
    id: Joi.string().guid().required(),
    email: Joi.string().required(),
    business_name: Joi.string().required(),
    role: role.required(),
    minutes_remaining: Joi.number().integer().required(),
    message: Joi.string().required()
}).label('Registered');

export const message = Joi.object({ message: Joi.string().required() }).label('Message');

export const session = Joi.object({
    access_token: Joi.string().required(),
    token_type: Joi.string().valid('bearer').required(),
    expires_in: Joi.number().integer().required(),
    user: currentUser.required()
}).label('Session');


const apiKeyFields = {
    id: Joi.string().guid().required(),
    name: Joi.string().required(),
    prefix: Joi.string().required(),
    created_at: Joi.date().required(),
    last_used_at: Joi.date().allow(null).required()
};

export const apiKeyRequest = Joi.object({ name: Joi.string().trim().min(1).max(120).required() });

export const apiKey = Joi.object(apiKeyFields).label('ApiKey');

export const createdApiKey = Joi.object({ ...apiKeyFields, key: Joi.string().required() }).label('CreatedApiKey');

export const apiKeys = Joi.object({ api_keys: Joi.array().items(apiKey).required() }).label('ApiKeys');

export const apiKeyId = Joi.object({ key_id: Joi.string().guid().required() });


// The tenant's own setting; the other plugins declare theirs beside their routes

export const tenantSettings = {
    business_name: text.description('The business the agent calls for: its {company_name} unless a campaign names another')
};


// Built from every plugin's declarations: the settings shown, and a change of one or more

export const settingsOf = (declared: Readonly<Record<string, Joi.Schema>>) => ({
    shown: Joi.object(Object.fromEntries(Object.entries(declared).map(([name, schema]) => [name, schema.required()]))).label('TenantSettings'),
    changes: Joi.object(declared).min(1).messages({ 'object.min': 'Name at least one setting to change' }).label('TenantSettingsChanges')
});
