import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { lifecycle } from './calls';
import type { DialContext } from './dial';
import { Gate } from './gate';
import { routes } from './routes';
import { pace, Slots } from './slots';
import { DialerWorker } from './worker';


// The dialer: starting, pausing and stopping campaigns; the workers that turn jobs into calls
// through the telephony slot; the lifecycle that provider webhooks feed; the reconciler.

export const plugin: TalkyPlugin = {
    name: 'dialer',
    dependencies: ['core', 'auth', 'campaigns', 'contacts'],
    migrations: Path.join(__dirname, 'migrations'),
    register(server) {

        const core = server.plugins.core;
        const { config, providers, redis } = core;

        providers.require('telephony');
        providers.require('storage');

        const context: DialContext = {
            core,
            slots: new Slots(redis, config.redisPrefix, config.dialerSlotLeaseSeconds * 1000),
            gate: new Gate(() => pace(redis, config.telephonyMaxCps)),
            telephony: () => providers.get('telephony'),
            provider: config.telephonyProvider
        };

        server.route(routes(core));
        for (const [name, method] of Object.entries(lifecycle(context, () => providers.get('storage')))) {
            server.expose(name, method);
        }

        if (core.runsWorkers) {
            const worker = new DialerWorker(context);
            server.expose('worker', worker);
            server.ext('onPreStart', () => worker.start(), { after: ['core'] });
            server.ext('onPreStop', () => worker.stop(), { before: ['core'] });
        }
    }
};
