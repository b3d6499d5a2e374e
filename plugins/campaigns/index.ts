import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { routes } from './routes';
import { tenantSettings } from './schemas';


// Campaigns (the script, voice, goal and calling rules of an outbound effort) and the clients
// they can belong to. Starting and stopping them belongs to the dialer.

export const plugin: TalkyPlugin = {
    name: 'campaigns',
    dependencies: ['core', 'auth'],
    migrations: Path.join(__dirname, 'migrations'),
    tenantSettings,
    register(server) {

        server.route(routes(server.plugins.core.db));
    }
};
