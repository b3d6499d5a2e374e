import type { TalkyPlugin } from '../../core/plugin';


// The calls the dialer placed and the recordings kept of them, as the tenant reads them

export const plugin: TalkyPlugin = {
    name: 'calls',
    dependencies: ['core', 'auth', 'dialer'],
    register() {

        // routes to come
    }
};
