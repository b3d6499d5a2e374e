import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { retentionJobs } from './jobs';
import { routes } from './routes';
import { tenantSettings } from './schemas';


// Data subject requests (export and erasure of one person) and the retention of recordings and
// transcripts (the tenant's settings say how long)

export const plugin: TalkyPlugin = {
    name: 'privacy',
    dependencies: ['core', 'auth', 'campaigns', 'contacts', 'dialer', 'voice'],     // the tables a person is found in
    migrations: Path.join(__dirname, 'migrations'),
    tenantSettings,
    register(server) {

        const core = server.plugins.core;

        core.providers.require('storage');
        server.route(routes(core));

        if (core.runsWorkers) {
            const jobs = retentionJobs(core, () => core.providers.get('storage'));
            server.ext('onPreStart', () => jobs.start(), { after: ['core'] });
            server.ext('onPreStop', () => jobs.stop(), { before: ['core'] });
        }
    }
};
