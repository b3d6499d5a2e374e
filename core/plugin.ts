import Path from 'path';

import type { Plugin, Server } from '@hapi/hapi';
import type Joi from 'joi';
import type { Logger } from 'pino';

import type { Config } from '../config';
import { createDb, ensureDatabase, migrate, type Db } from './db';
import { LiveEvents } from './live';
import { Providers } from './providers';
import { Queues } from './queues';
import { closeRedis, connectRedis, createRedis, type Redis } from './redis';
import { UpgradeRouter } from './upgrade';


// Time as the server sees it; tests pass their own to move it

export interface Clock {
    now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };


// What core hands to every plugin, as server.plugins.core

export interface Core {
    readonly config: Config;
    readonly db: Db;
    readonly redis: Redis;
    readonly queues: Queues;
    readonly providers: Providers;
    readonly sockets: UpgradeRouter;
    readonly live: LiveEvents;
    readonly logger: Logger;
    readonly clock: Clock;
    readonly tenantSettings: TenantSettings;
    readonly runsWorkers: boolean;
    readonly servesApi: boolean;
    migrate(): Promise<string[]>;
}

declare module '@hapi/hapi' {
    interface PluginProperties {
        core: Core;
    }
}


// A Talky plugin is a hapi plugin that may also name its migrations folder, and the settings it
// keeps as columns of the tenants row (added by its migrations) that a tenant's owner may change

export type TenantSettings = Readonly<Record<string, Joi.Schema>>;

export type TalkyPlugin<T = void> = Plugin<T> & {
    name: string;
    migrations?: string;
    tenantSettings?: TenantSettings;
};


// Every plugin's tenant settings, each name declared once

export const tenantSettingsOf = (plugins: TalkyPlugin<any>[]): TenantSettings => {

    const settings: Record<string, Joi.Schema> = {};
    const owners: Record<string, string> = {};
    for (const plugin of plugins) {
        for (const [name, schema] of Object.entries(plugin.tenantSettings ?? {})) {
            if (owners[name]) {
                throw new Error(`Plugins '${owners[name]}' and '${plugin.name}' both declare the tenant setting '${name}'`);
            }

            owners[name] = plugin.name;
            settings[name] = schema;
        }
    }

    return settings;
};


export const coreMigrations = Path.join(__dirname, '..', 'migrations');


// Takes a plugin module by npm name or path (resolved from the working directory) and returns its
// plugin: the `plugin` export, the default export, or the module itself.

export const loadPlugin = (spec: string, cwd = process.cwd()): TalkyPlugin => {

    let module: Record<string, unknown>;
    try {
        const path = require.resolve(spec.startsWith('.') ? Path.resolve(cwd, spec) : spec, { paths: [cwd] });
        module = require(path);
    }
    catch (err) {
        throw new Error(`TALKY_PLUGINS: cannot load '${spec}': ${(err as Error).message.split('\n')[0]}`);
    }

    const plugin = (module.plugin ?? (module.default as Record<string, unknown> | undefined)?.plugin ?? module.default ?? module) as TalkyPlugin;
    if (typeof plugin?.register !== 'function' || typeof plugin.name !== 'string') {
        throw new Error(`TALKY_PLUGINS: '${spec}' does not export a hapi plugin with a name and a register function`);
    }

    return plugin;
};


interface CoreOptions {
    config: Config;
    migrations: string[];
    tenantSettings: TenantSettings;
    clock: Clock;
}


export const corePlugin: Plugin<CoreOptions> = {
    name: 'core',
    register(server: Server, { config, migrations, tenantSettings, clock }) {

        const logger = server.logger;
        const redis = createRedis(config.redisUrl, config.redisPrefix, logger);
        const core: Core = {
            config,
            logger,
            clock,
            tenantSettings,
            db: createDb(config.databaseUrl, config.databasePoolMax, logger),
            redis,
            queues: new Queues({ url: config.redisUrl, prefix: config.redisPrefix, logger }),
            providers: new Providers(config),
            sockets: new UpgradeRouter(),
            live: new LiveEvents(redis, config.redisPrefix, logger),
            runsWorkers: config.role !== 'api',
            servesApi: config.role !== 'worker',
            migrate: async () => {

                if (await ensureDatabase(config.databaseUrl)) {
                    logger.info('created the database');
                }

                const applied = await migrate(core.db, config.databaseUrl, [coreMigrations, ...migrations]);
                if (applied.length) {
                    logger.info({ migrations: applied }, 'applied migrations');
                }

                return applied;
            }
        };

        // One key at a time: expose(object) would deep-clone the clients

        for (const [key, value] of Object.entries(core)) {
            server.expose(key, value);
        }

        server.ext('onPreStart', async () => {

            core.providers.check();
            connectRedis(core.redis);

            if (config.migrateOnStart) {
                await core.migrate();
            }

            if (core.runsWorkers) {
                core.queues.start();
            }
        });

        // Hand back in-flight work before the pools close

        server.ext('onPreStop', async () => {

            await Promise.all([
                core.sockets.close(),
                core.queues.stopWorkers(config.shutdownTimeoutMs)
            ]);
        });

        server.ext('onPostStop', async () => {

            await core.queues.close();
            await Promise.all([core.db.destroy(), closeRedis(core.redis)]);
        });
    }
};
