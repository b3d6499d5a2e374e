import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';

import type { Core } from '../../core/plugin';
import { clientAddress, enforce } from '../../core/ratelimit';
import { noContent } from '../../core/schemas';
import { callerOf, requireOwner } from '../../core/tenancy';
import { linkUrl, requestLink } from './jobs';
import * as Keys from './keys';
import * as Schemas from './schemas';
import * as Auth from './service';
import { signAccessToken } from './strategy';
import * as Tenants from './tenants';
import { currentUser, type Credentials } from './users';


const loginMessage = 'If that email is registered, a magic link is on its way. Please check your inbox.';


export const routes = (core: Core, settings: Auth.AuthSettings): ServerRoute[] => {

    const { config, db, redis } = core;
    const window = config.authRateLimitWindowSeconds;

    // Per client address always, and per email where the body names one

    const limit = async (request: Request, action: string) => {

        const ip = clientAddress(request, config.trustProxy);
        const email = (request.payload as { email?: string } | null)?.email;
        await enforce(redis, [
            { key: `auth:ip:${ip}`, max: config.authRateLimitPerIp, windowSeconds: window },
            ...(email ? [{ key: `auth:${action}:email:${email}`, max: config.authRateLimitPerEmail, windowSeconds: window }] : [])
        ]);

        return null;
    };

    const credentialsOf = (request: Request) => request.auth.credentials as unknown as Credentials;

    const settingNames = Object.keys(core.tenantSettings);
    const settingSchemas = Schemas.settingsOf(core.tenantSettings);

    return [
        {
            method: 'POST',
            path: '/auth/register',
            options: {
                auth: false,
                description: 'Register a business and its owner, and send a magic link',
                notes: 'Creates the tenant with the plan\'s minutes. 400 for an unknown plan, 409 if the email is registered.',
                tags: ['api', 'auth'],
                validate: { payload: Schemas.registration },
                pre: [{ method: (request) => limit(request, 'register') }],
                response: { status: { 201: Schemas.registered } },
                handler: async (request, h) => {

                    const { tenant, user } = await Auth.register(db, request.payload as Auth.Registration, settings);
                    await requestLink(core, settings, { kind: 'register', email: user.email });
                    return h.response({
                        id: tenant.id,
                        email: user.email,
                        business_name: tenant.business_name,
                        role: user.role,
                        minutes_remaining: tenant.minutes_remaining,
                        message: 'Magic link sent to your email. Please check your inbox.'
                    }).code(201);
                }
            }
        },
        {
            method: 'POST',
            path: '/auth/login',
            options: {
                auth: false,
                description: 'Send a magic link to a registered email',
                notes: 'Answers the same whether or not the email is registered.',
                tags: ['api', 'auth'],
                validate: { payload: Schemas.login },
                pre: [{ method: (request) => limit(request, 'login') }],
                response: { schema: Schemas.message },
                handler: async (request) => {

                    await requestLink(core, settings, { kind: 'login', email: (request.payload as { email: string }).email });
                    return { message: loginMessage };
                }
            }
        },
        {
            method: 'POST',
            path: '/auth/verify',
            options: {
                auth: false,
                description: 'Exchange a magic-link token for a session',
                notes: 'A token works once and expires; a used, expired or unknown token answers 401.',
                tags: ['api', 'auth'],
                validate: { payload: Schemas.token },
                pre: [{ method: (request) => limit(request, 'verify') }],
                response: { schema: Schemas.session },
                handler: async (request) => {

                    const { token } = request.payload as { token: string };
                    const { sessionId, user } = await Auth.verify(db, token, {
                        ip: clientAddress(request, config.trustProxy),
                        userAgent: request.headers['user-agent'] as string | undefined
                    }, settings);

                    return {
                        access_token: signAccessToken(config, settings.clock, sessionId, user.id!),
                        token_type: 'bearer',
                        expires_in: config.sessionTtlSeconds,
                        user
                    };
                }
            }
        },
        {
            method: 'GET',
            path: '/auth/verify',
            options: {
                auth: false,
                description: 'Forward a magic link opened on the API to the frontend',
                notes: 'Redirects to APP_URL/auth/callback with the token, which the frontend then posts to /auth/verify.',
                tags: ['api', 'auth'],
                validate: { query: Schemas.token },
                response: { status: { 302: noContent } },
                handler: (request, h) => h.redirect(linkUrl(config.appUrl, (request.query as { token: string }).token))
            }
        },
        {
            method: 'GET',
            path: '/auth/me',
            options: {
                description: 'The signed-in user',
                tags: ['api', 'auth'],
                response: { schema: Schemas.currentUser },
                handler: (request) => currentUser(credentialsOf(request))
            }
        },
        {
            method: 'POST',
            path: '/auth/logout',
            options: {
                description: 'End the session: its access token stops working at once',
                tags: ['api', 'auth'],
                response: { schema: Schemas.message },
                handler: async (request) => {

                    const credentials = credentialsOf(request);
                    if (credentials.kind !== 'session') {
                        throw Boom.badRequest('An API key has no session to end; revoke the key instead');
                    }

                    await Auth.revokeSession(db, credentials.session_id!, settings.clock);
                    return { message: 'Logged out' };
                }
            }
        },
        {
            method: 'POST',
            path: '/auth/create-profile',
            options: {
                description: 'Make sure the signed-in user has a profile (it is made at first sign-in)',
                tags: ['api', 'auth'],
                response: { schema: Schemas.currentUser },
                handler: (request) => currentUser(credentialsOf(request))
            }
        },
        {
            method: 'GET',
            path: '/auth/api-keys',
            options: {
                auth: requireOwner,
                description: 'List the tenant\'s API keys (prefixes only)',
                tags: ['api', 'auth'],
                response: { schema: Schemas.apiKeys },
                handler: async (request) => ({ api_keys: await Keys.list(db, callerOf(request.auth.credentials).tenant_id) })
            }
        },
        {
            method: 'POST',
            path: '/auth/api-keys',
            options: {
                auth: requireOwner,
                description: 'Create an API key; the key is shown only in this answer',
                tags: ['api', 'auth'],
                validate: { payload: Schemas.apiKeyRequest },
                response: { status: { 201: Schemas.createdApiKey } },
                handler: async (request, h) => {

                    const caller = callerOf(request.auth.credentials);
                    const key = await Keys.create(db, caller.tenant_id, caller.id, (request.payload as { name: string }).name);
                    return h.response(key).code(201);
                }
            }
        },
        {
            method: 'GET',
            path: '/tenants/me/settings',
            options: {
                description: 'The tenant\'s settings',
                notes: 'Each enabled plugin adds its own: the business name, the disclosure mode, the time zone of the analytics, how long recordings and transcripts are kept.',
                tags: ['api', 'tenants'],
                response: { schema: settingSchemas.shown },
                handler: (request) => Tenants.settings(db, callerOf(request.auth.credentials).tenant_id, settingNames)
            }
        },
        {
            method: 'PATCH',
            path: '/tenants/me/settings',
            options: {
                auth: requireOwner,
                description: 'Change one or more of the tenant\'s settings',
                tags: ['api', 'tenants'],
                validate: { payload: settingSchemas.changes },
                response: { schema: settingSchemas.shown },
                handler: (request) => Tenants.changeSettings(db, callerOf(request.auth.credentials).tenant_id, settingNames, request.payload as Record<string, unknown>)
            }
        },
        {
            method: 'DELETE',
            path: '/auth/api-keys/{key_id}',
            options: {
                auth: requireOwner,
                description: 'Revoke an API key',
                tags: ['api', 'auth'],
                validate: { params: Schemas.apiKeyId },
                response: { status: { 204: noContent } },
                handler: async (request, h) => {

                    await Keys.revoke(db, callerOf(request.auth.credentials).tenant_id, (request.params as { key_id: string }).key_id, settings.clock);
                    return h.response().code(204);
                }
            }
        }
    ];
};
