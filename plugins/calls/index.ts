import type { TalkyPlugin } from '../../core/plugin';
import { callRoutes, recordingRoutes } from './routes';


// The calls the dialer placed and the recordings kept of them, as the tenant reads them

export const plugin: TalkyPlugin = {
    name: 'calls',
    dependencies: ['core', 'auth', 'dialer', 'voice'],                  // call_turns is the voice plugin's table
    register(server) {

        const core = server.plugins.core;

        core.providers.require('storage');
        server.route(callRoutes(core));
        server.route(recordingRoutes(core));
    }
};
