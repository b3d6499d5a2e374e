import Joi from 'joi';

import { page, pageQuery } from '../../core/schemas';
import { statuses as campaignStatuses } from '../campaigns/schemas';
import { plan, planId } from '../plans/schemas';
import { actions } from './audit';
import { statuses as tenantStatuses } from './tenants';
import { roles } from './users';


const search = Joi.string().trim().min(1).max(200).description('Matched anywhere, case aside');

const counts = (keys: string[]) => Joi.object(Object.fromEntries(keys.map((key) => [key, Joi.number().integer().required()]))).unknown();


// Tenants

export const tenantQuery = Joi.object({
    ...pageQuery,
    search: search.description('Part of the business name or of any of its users\' emails'),
    status: Joi.string().valid(...tenantStatuses)
});

export const tenantId = Joi.object({ tenant_id: Joi.string().guid().required() });

export const planChange = Joi.object({ plan_id: planId.required() });

export const minutes = Joi.object({
    minutes: Joi.number().integer().min(1).max(1_000_000).required(),
    reason: Joi.string().trim().max(500).allow('', null)
});

export const suspension = Joi.object({ reason: Joi.string().trim().min(1).max(500).required() });


const tenantFields = {
    id: Joi.string().guid().required(),
    business_name: Joi.string().required(),
    plan_id: Joi.string().required(),
    minutes_remaining: Joi.number().integer().required(),
    status: Joi.string().valid(...tenantStatuses).required(),
    created_at: Joi.date().required(),
    updated_at: Joi.date().required()
};

export const tenantSummary = Joi.object(tenantFields).label('AdminTenantSummary');

export const tenantPage = page(tenantSummary, 'AdminTenantPage');

export const tenant = Joi.object({
    ...tenantFields,
    plan: plan.required(),
    minutes_used: Joi.number().integer().required().description('Sum of the billed minutes of all its calls'),
    counts: Joi.object({
        users: Joi.number().integer().required(),
        campaigns: Joi.number().integer().required(),
        running_campaigns: Joi.number().integer().required(),
        calls: Joi.number().integer().required()
    }).required(),
    suspension: Joi.object({
        reason: Joi.string().required(),
        suspended_at: Joi.date().required(),
        suspended_by: Joi.string().required()
    }).allow(null).required()
}).label('AdminTenant');

export const minutesAdded = Joi.object({
    tenant_id: Joi.string().guid().required(),
    minutes_added: Joi.number().integer().required(),
    minutes_remaining: Joi.number().integer().required()
}).label('MinutesAdded');

export const suspended = Joi.object({
    tenant_id: Joi.string().guid().required(),
    status: Joi.string().valid('suspended').required(),
    paused_campaigns: Joi.number().integer().required(),
    message: Joi.string().required()
}).label('TenantSuspended');

export const reactivated = Joi.object({
    tenant_id: Joi.string().guid().required(),
    status: Joi.string().valid('active').required(),
    message: Joi.string().required()
}).label('TenantReactivated');


// Users

export const userQuery = Joi.object({
    ...pageQuery,
    tenant_id: Joi.string().guid(),
    role: Joi.string().valid(...roles),
    search: search.description('Part of the email')
});

export const userId = Joi.object({ user_id: Joi.string().guid().required() });

export const roleChange = Joi.object({ role: Joi.string().valid(...roles).required() });

export const user = Joi.object({
    id: Joi.string().guid().required(),
    email: Joi.string().required(),
    name: Joi.string().allow(null).required(),
    role: Joi.string().valid(...roles).required(),
    status: Joi.string().required(),
    tenant_id: Joi.string().guid().required(),
    business_name: Joi.string().required(),
    last_login_at: Joi.date().allow(null).required(),
    created_at: Joi.date().required()
}).label('AdminUser');

export const userPage = page(user, 'AdminUserPage');


// Platform stats

export const stats = Joi.object({
    tenants: Joi.object({ total: Joi.number().integer().required(), by_status: counts(tenantStatuses).required() }).required(),
    users: Joi.object({ total: Joi.number().integer().required(), by_role: counts(roles).required() }).required(),
    campaigns: Joi.object({ total: Joi.number().integer().required(), by_status: counts(campaignStatuses).required() }).required(),
    calls: Joi.object({
        total: Joi.number().integer().required(),
        today: Joi.number().integer().required().description('Placed since midnight UTC'),
        live: Joi.number().integer().required().description('Dialing, ringing or in progress')
    }).required(),
    minutes_billed: Joi.object({
        total: Joi.number().integer().required(),
        this_month: Joi.number().integer().required().description('Of calls placed since the first of the month, UTC')
    }).required()
}).label('PlatformStats');


// Queues

export const queueName = Joi.object({ name: Joi.string().max(200).pattern(/^[\w:.-]+$/).required() });

export const queues = Joi.object({
    queues: Joi.array().items(Joi.object({
        name: Joi.string().required(),
        waiting: Joi.number().integer().required(),
        active: Joi.number().integer().required(),
        delayed: Joi.number().integer().required(),
        failed: Joi.number().integer().required()
    }).label('QueueCounts')).required()
}).label('Queues');

export const retried = Joi.object({
    queue: Joi.string().required(),
    retried: Joi.number().integer().required(),
    message: Joi.string().required()
}).label('QueueRetried');


// Audit

export const auditQuery = Joi.object({
    ...pageQuery,
    action: Joi.string().valid(...actions),
    target_id: Joi.string().max(200)
});

export const auditEntry = Joi.object({
    id: Joi.number().integer().required(),
    admin_id: Joi.string().guid().allow(null).required(),
    admin_email: Joi.string().required(),
    action: Joi.string().valid(...actions).required(),
    target_type: Joi.string().valid('tenant', 'user', 'queue').required(),
    target_id: Joi.string().required(),
    details: Joi.object().unknown().required(),
    created_at: Joi.date().required()
}).label('AdminAuditEntry');

export const auditPage = page(auditEntry, 'AdminAuditPage');
