import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { routes } from './routes';


// A campaign's contacts (leads): one at a time, or by the streaming CSV import; and the tenant's
// do-not-call list, honoured by every campaign.

export const plugin: TalkyPlugin = {
    name: 'contacts',
    dependencies: ['core', 'auth', 'campaigns'],
    migrations: Path.join(__dirname, 'migrations'),
    register(server) {

        server.route(routes(server.plugins.core));
    }
};
