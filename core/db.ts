import Fs from 'fs';
import Os from 'os';
import Path from 'path';

import Knex, { type Knex as KnexTypes } from 'knex';
import Pg from 'pg';
import type { Logger } from 'pino';


export type Db = KnexTypes;


// pg hands back bigint and numeric as strings; counts and ids here fit in a double.

Pg.types.setTypeParser(Pg.types.builtins.INT8, (value) => Number(value));


// Like libpq, a url without a user name connects as the operating system user

export const connectionString = (url: string, database?: string) => {

    const target = new URL(url);
    target.username ||= process.env.PGUSER ?? Os.userInfo().username;
    if (database) {
        target.pathname = `/${database}`;
    }

    return target.toString();
};


const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));


export const createDb = (url: string, poolMax: number, logger: Logger): Db => {

    return Knex({
        client: 'pg',
        log: {
            warn: (message: string) => logger.warn({ source: 'knex' }, message),
            error: (message: string) => logger.error({ source: 'knex' }, message),
            deprecate: (method: string, alternative: string) => logger.warn({ source: 'knex' }, `${method} is deprecated, use ${alternative}`),
            debug: (message: string) => logger.debug({ source: 'knex' }, message)
        },
        // Only prepared() names its statements, and they are key lookups and small batches: a
        // generic plan suits them all, and planning each run was a tenth of the webhooks' work

        connection: { connectionString: connectionString(url), options: '-c plan_cache_mode=force_generic_plan' },
        pool: { min: 0, max: poolMax },
        acquireConnectionTimeout: 10000
    });
};


// A named prepared statement on one of the pool's connections, past knex's query building: for
// the few statements run thousands of times a second (the webhooks'), written with $n already.
// Inside a transaction the pool hands back the transaction's own connection.

interface PoolClient {
    acquireConnection(): Promise<Pg.PoolClient>;
    releaseConnection(connection: Pg.PoolClient): Promise<void>;
}


export const prepared = async <R extends Pg.QueryResultRow = Pg.QueryResultRow>(db: Db, name: string, text: string, values: unknown[]): Promise<R[]> => {

    const client = db.client as PoolClient;
    const connection = await client.acquireConnection();
    try {
        return (await connection.query<R>({ name, text, values })).rows;
    }
    finally {
        await client.releaseConnection(connection);
    }
};


// A statement written with knex's :named bindings, turned into $n once (by knex, so both read
// bindings alike) and then run as prepared(). Every run passes the same names.

export class Statement<R extends Pg.QueryResultRow = Pg.QueryResultRow> {

    #native?: { text: string; order: string[] };

    constructor(private readonly name: string, private readonly sql: string) { }

    async run(db: Db, bindings: Record<string, unknown>): Promise<R[]> {

        this.#native ??= native(db, this.sql, Object.keys(bindings));
        return await prepared<R>(db, this.name, this.#native.text, this.#native.order.map((key) => bindings[key]));
    }
}


const native = (db: Db, sql: string, names: string[]) => {

    const marker = '\u0000';
    const { sql: text, bindings } = db.raw(sql, Object.fromEntries(names.map((name) => [name, marker + name]))).toSQL().toNative();
    return { text, order: bindings.map((binding) => String(binding).slice(marker.length)) };
};


// Connects to the database of the url and creates it when it does not exist yet.

export const ensureDatabase = async (url: string): Promise<boolean> => {

    const probe = new Pg.Client({ connectionString: connectionString(url) });
    try {
        await probe.connect();
        return false;
    }
    catch (err) {
        if ((err as { code?: string }).code !== '3D000') {             // invalid_catalog_name
            throw err;
        }
    }
    finally {
        await probe.end().catch(() => undefined);
    }

    const admin = new Pg.Client({ connectionString: connectionString(url, 'postgres') });
    await admin.connect();
    try {
        await admin.query(`CREATE DATABASE ${Pg.escapeIdentifier(databaseName(url))}`);
        return true;
    }
    catch (err) {
        const code = (err as { code?: string }).code;
        if (code === '42P04' || code === '23505') {                     // another process created it first
            return false;
        }

        throw err;
    }
    finally {
        await admin.end();
    }
};


export const dropDatabase = async (url: string) => {

    const admin = new Pg.Client({ connectionString: connectionString(url, 'postgres') });
    await admin.connect();
    try {
        await admin.query(`DROP DATABASE IF EXISTS ${Pg.escapeIdentifier(databaseName(url))} WITH (FORCE)`);
    }
    finally {
        await admin.end();
    }
};


// Gathers the migration files of several folders (core's and each plugin's) into one ordered list.
// Names are stored without their extension so the .ts files run by the tests and the .js files of
// a build are the same migrations.

interface Migration {
    name: string;
    file: string;
}


export class MigrationSource implements KnexTypes.MigrationSource<Migration> {

    constructor(private readonly folders: string[]) { }

    getMigrations(): Promise<Migration[]> {

        try {
            return Promise.resolve(this.list());
        }
        catch (err) {
            return Promise.reject(err);
        }
    }

    private list() {

        const byName = new Map<string, Migration>();

        for (const folder of this.folders) {
            if (!Fs.existsSync(folder)) {
                continue;
            }

            for (const entry of Fs.readdirSync(folder)) {
                if (!/\.(ts|js)$/.test(entry) || entry.endsWith('.d.ts')) {
                    continue;
                }

                const name = entry.replace(/\.(ts|js)$/, '');
                const file = Path.join(folder, entry);
                const existing = byName.get(name);
                if (existing && Path.dirname(existing.file) !== folder) {
                    throw new Error(`Migration ${name} is defined twice: in ${Path.dirname(existing.file)} and ${folder}`);
                }

                byName.set(name, { name, file });
            }
        }

        return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    }

    getMigrationName(migration: Migration) {

        return migration.name;
    }

    async getMigration(migration: Migration): Promise<KnexTypes.Migration> {

        return await require(migration.file);
    }
}


// Runs the pending migrations while holding a PostgreSQL advisory lock, so api and worker
// processes starting together migrate one after the other instead of failing on knex's lock table.

const migrationLock = 7_405_839_201;


export const migrate = async (db: Db, url: string, folders: string[]) => {

    const lock = new Pg.Client({ connectionString: connectionString(url) });
    await lock.connect();
    try {
        await lock.query('SELECT pg_advisory_lock($1)', [migrationLock]);
        const [, applied] = await db.migrate.latest({ migrationSource: new MigrationSource(folders) }) as [number, string[]];
        return applied;
    }
    finally {
        await lock.query('SELECT pg_advisory_unlock($1)', [migrationLock]).catch(() => undefined);
        await lock.end();
    }
};
