import type { TalkyPlugin } from '../../core/plugin';


// The dashboard's numbers and the analytics over a tenant's calls

export const plugin: TalkyPlugin = {
    name: 'analytics',
    dependencies: ['core', 'auth', 'dialer'],
    register() {

        // routes to come
    }
};
