import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { routes } from './routes';


export const plugin: TalkyPlugin = {
    name: 'plans',
    dependencies: ['core'],
    migrations: Path.join(__dirname, 'migrations'),
    register(server) {

        server.route(routes(server.plugins.core.db));
    }
};
