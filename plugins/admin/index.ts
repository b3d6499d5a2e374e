import type { TalkyPlugin } from '../../core/plugin';


// The platform operator's routes: tenants, users, queues, and the audit of what admins did

export const plugin: TalkyPlugin = {
    name: 'admin',
    dependencies: ['core', 'auth', 'dialer'],
    register() {

        // routes to come
    }
};
