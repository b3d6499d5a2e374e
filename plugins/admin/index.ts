import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { routes } from './routes';


// The platform operator's routes: tenants, users, queues, and the audit of what admins did

export const plugin: TalkyPlugin = {
    name: 'admin',
    dependencies: ['core', 'auth', 'dialer'],
    migrations: Path.join(__dirname, 'migrations'),
    register(server) {

        server.route(routes(server.plugins.core));
    }
};
