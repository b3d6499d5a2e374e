import Crypto from 'crypto';
import Fs from 'fs';
import Os from 'os';
import Path from 'path';

import type { Server } from '@hapi/hapi';
import Redis from 'ioredis';
import Pg from 'pg';

import { load, type Config } from '../../config';
import { connectionString, dropDatabase } from '../../core/db';
import { createServer, type ServerOptions } from '../../core/server';


// Each test run gets its own database and Redis key space, made here and removed afterwards

const baseDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${Crypto.randomBytes(4).toString('hex')}`;


// Databases left by a run that died (its process is gone) are dropped by the next run

const isAlive = (pid: number) => {

    try {
        process.kill(pid, 0);
        return true;
    }
    catch (err) {
        return (err as { code?: string }).code === 'EPERM';
    }
};


const sweepStaleDatabases = async () => {

    const client = new Pg.Client({ connectionString: connectionString(baseDatabaseUrl) });
    await client.connect();
    try {
        const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'talky\\_test\\_%'`);
        for (const { datname } of rows) {
            const pid = Number(datname.split('_')[2]);
            if (pid && !isAlive(pid)) {
                await client.query(`DROP DATABASE IF EXISTS ${Pg.escapeIdentifier(datname)} WITH (FORCE)`);
            }
        }
    }
    finally {
        await client.end();
    }
};


sweepStaleDatabases().catch(() => undefined);


export const testConfig = (overrides: Record<string, unknown> = {}, env: Record<string, string> = {}): Config => {

    const database = new URL(baseDatabaseUrl);
    database.pathname = `/${uniqueName('talky_test')}`;

    return load(env, {
        nodeEnv: 'test',
        host: '127.0.0.1',
        port: 0,
        databaseUrl: database.toString(),
        redisUrl,
        redisPrefix: uniqueName('talky-test'),
        jwtSecret: 'test-secret-test-secret-test-secret-0123',
        logLevel: 'silent',
        responseValidation: 'error',
        shutdownTimeoutMs: 2000,
        healthTimeoutMs: 500,
        mailDir: Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-mail-')),
        storageDir: Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-storage-')),
        authRateLimitPerIp: 10_000,
        authRateLimitPerEmail: 10_000,
        ...overrides
    });
};


export interface Harness {
    server: Server;
    config: Config;
    cleanup: () => Promise<void>;
}


export const startServer = async (overrides: Record<string, unknown> = {}, options: ServerOptions & { listen?: boolean } = {}): Promise<Harness> => {

    const config = testConfig(overrides);
    const server = await createServer(config, options);
    await (options.listen ? server.start() : server.initialize());

    return {
        server,
        config,
        cleanup: async () => {

            await server.stop({ timeout: 100 }).catch(() => undefined);
            await dropTestData(config);
        }
    };
};


export const dropTestData = async (config: Config) => {

    await dropDatabase(config.databaseUrl);

    const redis = new Redis(redisUrl);
    try {
        let cursor = '0';
        do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redisPrefix}:*`, 'COUNT', 1000);
            cursor = next;
            if (keys.length) {
                await redis.del(...keys);
            }
        }
        while (cursor !== '0');
    }
    finally {
        redis.disconnect();
    }
};


export const waitFor = async <T>(probe: () => T | Promise<T>, ms = 5000): Promise<T> => {

    const until = Date.now() + ms;
    for (;;) {
        const value = await probe();
        if (value) {
            return value;
        }

        if (Date.now() > until) {
            throw new Error('Timed out waiting');
        }

        await new Promise((resolve) => setTimeout(resolve, 20));
    }
};
