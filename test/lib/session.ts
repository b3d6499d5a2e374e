import type { Server } from '@hapi/hapi';

import * as Auth from '../../plugins/auth/service';
import { signAccessToken } from '../../plugins/auth/strategy';


// A registered, signed-in owner of a new tenant, made through the auth service rather than the mail

let count = 0;


export const signUp = async (server: Server, { plan = 'pro', email }: { plan?: string; email?: string } = {}) => {

    const { config, db, clock } = server.plugins.core;
    const settings = { clock, adminEmails: config.adminEmails, magicLinkTtlMinutes: config.magicLinkTtlMinutes, sessionTtlSeconds: config.sessionTtlSeconds };
    const address = email ?? `owner.${process.pid}.${++count}@example.com`;

    const { tenant } = await Auth.register(db, { email: address, business_name: `Business ${count}`, plan_id: plan }, settings);
    const found = await Auth.findUser(db, address);
    const { sessionId, user } = await Auth.verify(db, await Auth.issueLink(db, found.id, settings), {}, settings);
    const token = signAccessToken(config, clock, sessionId, user.id!);

    return { user, tenantId: tenant.id as string, token, headers: { authorization: `Bearer ${token}` } };
};
