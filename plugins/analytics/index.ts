import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { routes } from './routes';


// The dashboard's numbers and the analytics over a tenant's calls

export const plugin: TalkyPlugin = {
    name: 'analytics',
    dependencies: ['core', 'auth', 'dialer'],
    migrations: Path.join(__dirname, 'migrations'),
    register(server) {

        server.route(routes(server.plugins.core));
    }
};
