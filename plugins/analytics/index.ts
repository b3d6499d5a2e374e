import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { timezone } from '../../core/schemas';
import { routes } from './routes';


// The dashboard's numbers and the analytics over a tenant's calls

export const plugin: TalkyPlugin = {
    name: 'analytics',
    dependencies: ['core', 'auth', 'dialer'],
    migrations: Path.join(__dirname, 'migrations'),
    tenantSettings: {
        timezone: timezone.description('The time zone the dashboard and the analytics count days and hours in')
    },
    register(server) {

        server.route(routes(server.plugins.core));
    }
};
