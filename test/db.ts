import Fs from 'fs';
import Os from 'os';
import Path from 'path';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import Pino from 'pino';

import { createDb, dropDatabase, ensureDatabase, migrate, MigrationSource } from '../core/db';
import { testConfig } from './lib/harness';


const { describe, it } = exports.lab = Lab.script();
const { expect } = Code;

const logger = Pino({ level: 'silent' });


const folderWith = (files: Record<string, string>) => {

    const folder = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-migrations-'));
    for (const [name, content] of Object.entries(files)) {
        Fs.writeFileSync(Path.join(folder, name), content);
    }

    return folder;
};


const tableMigration = (table: string) => `
exports.up = (knex) => knex.schema.createTable('${table}', (t) => t.increments('id'));
exports.down = (knex) => knex.schema.dropTable('${table}');
`;


describe('db', () => {

    describe('MigrationSource', () => {

        it('orders the migrations of several folders by name, without extensions', async () => {

            const core = folderWith({ '001_a.js': tableMigration('a'), '003_c.ts': '', 'notes.md': '', 'types.d.ts': '' });
            const plugin = folderWith({ '002_b.js': tableMigration('b') });
            const source = new MigrationSource([core, plugin, '/nonexistent']);
            const migrations = await source.getMigrations();
            expect(migrations.map((migration) => source.getMigrationName(migration))).to.equal(['001_a', '002_b', '003_c']);
            expect(typeof (await source.getMigration(migrations[0]!)).up).to.equal('function');
        });

        it('treats a .ts file and its built .js file as one migration', async () => {

            const folder = folderWith({ '001_a.ts': '', '001_a.js': '' });
            expect(await new MigrationSource([folder]).getMigrations()).to.have.length(1);
        });

        it('refuses one name in two folders', async () => {

            const one = folderWith({ '001_a.js': '' });
            const two = folderWith({ '001_a.js': '' });
            await expect(new MigrationSource([one, two]).getMigrations()).to.reject(/Migration 001_a is defined twice/);
        });
    });

    describe('ensureDatabase()', () => {

        it('creates a missing database once', async () => {

            const { databaseUrl } = testConfig();
            expect(await ensureDatabase(databaseUrl)).to.be.true();
            expect(await ensureDatabase(databaseUrl)).to.be.false();
            await dropDatabase(databaseUrl);
        });

        it('creates it once when several processes race', async () => {

            const { databaseUrl } = testConfig();
            const created = await Promise.all([1, 2, 3].map(() => ensureDatabase(databaseUrl)));
            expect(created.filter(Boolean).length).to.be.at.most(1);
            expect(await ensureDatabase(databaseUrl)).to.be.false();
            await dropDatabase(databaseUrl);
        });

        it('passes on other connection errors', async () => {

            await expect(ensureDatabase('postgres://nobody-at-all@127.0.0.1:5432/x')).to.reject(/nobody-at-all/);
        });
    });

    describe('migrate()', () => {

        it('lets concurrent processes migrate one after the other', async () => {

            const { databaseUrl } = testConfig();
            await ensureDatabase(databaseUrl);
            const folder = folderWith({ '001_a.js': tableMigration('a'), '002_b.js': tableMigration('b') });
            const dbs = [1, 2, 3].map(() => createDb(databaseUrl, 2, logger));

            const applied = await Promise.all(dbs.map((db) => migrate(db, databaseUrl, [folder])));
            expect(applied.flat().sort()).to.equal(['001_a', '002_b']);

            const tables = await dbs[0]!('pg_tables').where({ schemaname: 'public' }).pluck('tablename');
            expect(tables).to.include(['a', 'b']);
            await Promise.all(dbs.map((db) => db.destroy()));
            await dropDatabase(databaseUrl);
        });
    });
});
