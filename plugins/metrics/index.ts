import type { TalkyPlugin } from '../../core/plugin';
import { measureLiveCalls } from './calls';
import { measureRequests } from './http';
import { measureQueues } from './queues';
import { createRegistry, Readings } from './registry';
import { routes } from './routes';
import { measureVoice } from './voice';
import { measureWebhookLag } from './webhooks';


// GET /api/v1/metrics: the process's numbers in Prometheus's text format, behind METRICS_TOKEN.
// Other plugins know nothing of this one: it reads what they expose or leave on their requests.

export const plugin: TalkyPlugin = {
    name: 'metrics',
    dependencies: ['core'],
    register(server) {

        const core = server.plugins.core;
        const { config, db, logger } = core;
        const registry = createRegistry();
        const readings = new Readings(registry, config.healthTimeoutMs, logger);

        measureRequests(server, registry);
        measureQueues(core, readings, registry);
        measureLiveCalls(server, db, readings, registry);
        measureVoice(server, registry);
        measureWebhookLag(server, registry);

        server.route(routes(registry, config.metricsToken));
    }
};
