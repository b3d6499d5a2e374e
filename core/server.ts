import Hapi from '@hapi/hapi';
import Nes from '@hapi/nes';
import type { DestinationStream } from 'pino';

import type { Config } from '../config';
import { builtins } from '../plugins';
import { registerDocs } from './docs';
import { failAction, registerErrorFormat } from './errors';
import { routes as healthRoutes } from './health';
import { createLogger, loggingPlugin } from './logging';
import { corePlugin, loadPlugin, systemClock, tenantSettingsOf, type Clock, type TalkyPlugin } from './plugin';


export interface ServerOptions {
    plugins?: TalkyPlugin<any>[];                // extra plugins given directly (tests, embedding)
    logStream?: DestinationStream;
    clock?: Clock;
}


// A worker process listens only so that orchestrators can ask for its health, and Prometheus
// for its numbers

const workerPaths = new Set(['/api/v1/health', '/api/v1/metrics']);


export const createServer = async (config: Config, options: ServerOptions = {}) => {

    const plugins: TalkyPlugin<any>[] = [
        ...builtins.filter((plugin) => !config.disabledPlugins.includes(plugin.name)),
        ...config.plugins.map((spec) => loadPlugin(spec)),
        ...(options.plugins ?? [])
    ];

    const tenantSettings = tenantSettingsOf(plugins);

    const server = Hapi.server({
        host: config.host,
        port: config.port,
        router: { stripTrailingSlash: true },
        routes: {
            cors: { origin: [...config.corsOrigins], credentials: true, additionalExposedHeaders: ['x-request-id', 'retry-after'] },
            validate: { failAction, options: { abortEarly: true, errors: { wrap: { label: '"' } } } },
            response: {
                sample: config.responseValidation === 'off' ? 0 : 100,
                failAction: config.responseValidation === 'log' ? 'log' : 'error'
            }
        }
    });

    const logger = createLogger(config, options.logStream);
    await server.register(loggingPlugin(logger));
    await server.register({
        plugin: corePlugin,
        options: {
            config,
            clock: options.clock ?? systemClock,
            migrations: plugins.map((plugin) => plugin.migrations).filter((folder): folder is string => Boolean(folder)),
            tenantSettings
        }
    });

    registerErrorFormat(server);
    server.route(healthRoutes(server.plugins.core));

    if (config.role === 'worker') {
        server.ext('onRequest', (request, h) => (workerPaths.has(request.path) ? h.continue : h.response({ detail: 'This is a worker process; it serves only /api/v1/health and /api/v1/metrics' }).code(404).takeover()));
    }
    else {
        await server.register({ plugin: Nes, options: { auth: { type: 'direct' }, heartbeat: { interval: 15000, timeout: 10000 } } });      // nes clients authenticate with the REST API's tokens
        server.plugins.core.sockets.attach(server.listener);
        await registerDocs(server);
    }

    for (const plugin of plugins) {
        await server.register(plugin, { routes: { prefix: '/api/v1' } });
    }

    return server;
};
