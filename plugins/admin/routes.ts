import type { AuthCredentials, ServerRoute } from '@hapi/hapi';

import type { Core } from '../../core/plugin';
import { callerOf, requireAdmin } from '../../core/tenancy';
import * as Audit from './audit';
import * as Queues from './queues';
import * as Schemas from './schemas';
import * as Stats from './stats';
import * as Tenants from './tenants';
import * as Users from './users';


type Params = { tenant_id: string; user_id: string; name: string };


// Only a session reaches these routes (an API key has no admin scope), so the admin has an email

const adminOf = (credentials: AuthCredentials): Audit.Admin => {

    const caller = callerOf(credentials);
    return { id: caller.id!, email: (credentials as { email: string }).email, tenant_id: caller.tenant_id };
};


export const routes = (core: Core): ServerRoute[] => {

    const { db, config, clock } = core;
    const tags = ['api', 'admin'];

    return [
        {
            method: 'GET',
            path: '/admin/tenants',
            options: {
                auth: requireAdmin,
                description: 'List tenants, newest first',
                notes: 'search matches the business name or any of its users\' emails.',
                tags,
                validate: { query: Schemas.tenantQuery },
                response: { schema: Schemas.tenantPage },
                handler: (request) => Tenants.list(db, request.query as unknown as Tenants.ListQuery)
            }
        },
        {
            method: 'GET',
            path: '/admin/tenants/{tenant_id}',
            options: {
                auth: requireAdmin,
                description: 'Get a tenant with its plan, usage and counts',
                tags,
                validate: { params: Schemas.tenantId },
                response: { schema: Schemas.tenant },
                handler: (request) => Tenants.get(db, (request.params as Params).tenant_id)
            }
        },
        {
            method: 'PATCH',
            path: '/admin/tenants/{tenant_id}/plan',
            options: {
                auth: requireAdmin,
                description: 'Move a tenant to another plan',
                notes: '400 for a plan that does not exist or is no longer offered; 409 if the tenant is already on it. Minutes are left as they are.',
                tags,
                validate: { params: Schemas.tenantId, payload: Schemas.planChange },
                response: { schema: Schemas.tenant },
                handler: (request) => Tenants.changePlan(db, adminOf(request.auth.credentials), (request.params as Params).tenant_id, (request.payload as { plan_id: string }).plan_id)
            }
        },
        {
            method: 'POST',
            path: '/admin/tenants/{tenant_id}/minutes',
            options: {
                auth: requireAdmin,
                description: 'Add calling minutes to a tenant',
                tags,
                validate: { params: Schemas.tenantId, payload: Schemas.minutes },
                response: { schema: Schemas.minutesAdded },
                handler: (request) => Tenants.addMinutes(db, adminOf(request.auth.credentials), (request.params as Params).tenant_id, request.payload as { minutes: number; reason?: string })
            }
        },
        {
            method: 'POST',
            path: '/admin/tenants/{tenant_id}/suspend',
            options: {
                auth: requireAdmin,
                description: 'Suspend a tenant: its sessions and API keys stop at once, its running campaigns pause',
                notes: '409 if it is already suspended, or if it is your own tenant.',
                tags,
                validate: { params: Schemas.tenantId, payload: Schemas.suspension },
                response: { schema: Schemas.suspended },
                handler: async (request) => {

                    const { tenant_id: tenantId } = request.params as Params;
                    const suspended = await Tenants.suspend(db, adminOf(request.auth.credentials), tenantId, (request.payload as { reason: string }).reason);
                    core.live.publish({ tenant_id: tenantId, type: 'tenant', data: { status: 'suspended' } });        // its live clients are let go
                    return suspended;
                }
            }
        },
        {
            method: 'POST',
            path: '/admin/tenants/{tenant_id}/reactivate',
            options: {
                auth: requireAdmin,
                description: 'Reactivate a suspended tenant; its campaigns stay paused until their owner starts them',
                notes: '409 if it is already active.',
                tags,
                validate: { params: Schemas.tenantId },
                response: { schema: Schemas.reactivated },
                handler: (request) => Tenants.reactivate(db, adminOf(request.auth.credentials), (request.params as Params).tenant_id)
            }
        },
        {
            method: 'GET',
            path: '/admin/users',
            options: {
                auth: requireAdmin,
                description: 'List users of every tenant, newest first',
                tags,
                validate: { query: Schemas.userQuery },
                response: { schema: Schemas.userPage },
                handler: (request) => Users.list(db, request.query as unknown as Users.ListQuery)
            }
        },
        {
            method: 'PATCH',
            path: '/admin/users/{user_id}/role',
            options: {
                auth: requireAdmin,
                description: 'Change a user\'s role',
                notes: '409 when an admin would demote themselves, when the user already has the role, or when ADMIN_EMAILS names an admin being demoted (the role would come back at sign-in).',
                tags,
                validate: { params: Schemas.userId, payload: Schemas.roleChange },
                response: { schema: Schemas.user },
                handler: (request) => Users.changeRole(db, adminOf(request.auth.credentials), {
                    user_id: (request.params as Params).user_id,
                    role: (request.payload as { role: Users.RoleChange['role'] }).role,
                    admin_emails: config.adminEmails
                })
            }
        },
        {
            method: 'GET',
            path: '/admin/stats',
            options: {
                auth: requireAdmin,
                description: 'Platform counts: tenants, users, campaigns, calls and billed minutes',
                tags,
                response: { schema: Schemas.stats },
                handler: () => Stats.platform(db, clock.now())
            }
        },
        {
            method: 'GET',
            path: '/admin/queues',
            options: {
                auth: requireAdmin,
                description: 'The job queues and how many jobs each holds, by state',
                notes: '503 when Redis does not answer.',
                tags,
                response: { schema: Schemas.queues },
                handler: async () => ({ queues: await Queues.list(core) })
            }
        },
        {
            method: 'POST',
            path: '/admin/queues/{name}/retry',
            options: {
                auth: requireAdmin,
                description: 'Put a queue\'s failed jobs back in it',
                notes: '404 for a queue this install does not know.',
                tags,
                validate: { params: Schemas.queueName },
                response: { schema: Schemas.retried },
                handler: (request) => Queues.retryFailed(core, adminOf(request.auth.credentials), (request.params as Params).name)
            }
        },
        {
            method: 'GET',
            path: '/admin/audit',
            options: {
                auth: requireAdmin,
                description: 'What admins changed, newest first',
                tags,
                validate: { query: Schemas.auditQuery },
                response: { schema: Schemas.auditPage },
                handler: (request) => Audit.list(db, request.query as unknown as Audit.ListQuery)
            }
        }
    ];
};
