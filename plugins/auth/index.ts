import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { mailQueue, sendLink, type LinkRequest } from './jobs';
import { routes } from './routes';
import { tenantSettings } from './schemas';
import { promoteAdmins, type AuthSettings } from './service';
import { registerStrategies } from './strategy';


// Passwordless sign-in (magic links), sessions, roles and API keys; every other route is
// authenticated by the strategies registered here unless it says otherwise.

export const plugin: TalkyPlugin = {
    name: 'auth',
    dependencies: ['core', 'plans'],
    migrations: Path.join(__dirname, 'migrations'),
    tenantSettings,
    async register(server) {

        const core = server.plugins.core;
        const { config, db, clock, providers, queues } = core;
        const settings: AuthSettings = {
            clock,
            adminEmails: config.adminEmails,
            magicLinkTtlMinutes: config.magicLinkTtlMinutes,
            sessionTtlSeconds: config.sessionTtlSeconds
        };

        providers.require('mailer');
        await registerStrategies(server, { db, clock, config });
        server.route(routes(core, settings));
        queues.process<LinkRequest, { sent: boolean }>(mailQueue, (job) => sendLink(core, settings, job.data), { concurrency: 5, keepFailed: true });         // a sign-in mail that failed waits for an admin's retry

        server.ext('onPostStart', async () => {

            const promoted = await promoteAdmins(db, config.adminEmails);
            if (promoted) {
                core.logger.info({ promoted }, 'gave the admin role to users named in ADMIN_EMAILS');
            }
        });
    }
};
