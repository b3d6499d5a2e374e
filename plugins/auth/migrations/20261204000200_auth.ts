import type { Knex } from 'knex';


export const up = async (knex: Knex) => {

    await knex.schema.createTable('tenants', (table) => {

        table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        table.string('business_name', 200).notNullable();
        table.string('plan_id', 64).notNullable().references('plans.id');
        table.integer('minutes_remaining').notNullable().defaultTo(0);
        table.string('status', 20).notNullable().defaultTo('active');               // active | suspended
        table.timestamps(true, true);
    });

    await knex.schema.createTable('user_profiles', (table) => {

        table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        table.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
        table.string('email', 254).notNullable();                                    // stored lowercased
        table.string('name', 200);
        table.string('role', 20).notNullable().defaultTo('user');                   // user | owner | admin
        table.string('status', 20).notNullable().defaultTo('pending');              // pending (never signed in) | active | suspended
        table.timestamp('verified_at', { useTz: true });
        table.timestamp('last_login_at', { useTz: true });
        table.timestamps(true, true);
        table.unique(['email']);
        table.index(['tenant_id']);
    });

    await knex.schema.createTable('magic_links', (table) => {

        table.string('token_hash', 64).primary();                                   // sha256 hex; the token itself is never stored
        table.uuid('user_id').notNullable().references('user_profiles.id').onDelete('CASCADE');
        table.timestamp('created_at', { useTz: true }).notNullable();
        table.timestamp('expires_at', { useTz: true }).notNullable();
        table.timestamp('used_at', { useTz: true });
        table.timestamp('revoked_at', { useTz: true });
        table.index(['user_id']);
    });

    await knex.schema.createTable('sessions', (table) => {

        table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        table.uuid('user_id').notNullable().references('user_profiles.id').onDelete('CASCADE');
        table.timestamp('created_at', { useTz: true }).notNullable();
        table.timestamp('expires_at', { useTz: true }).notNullable();
        table.timestamp('revoked_at', { useTz: true });
        table.string('ip', 64);
        table.string('user_agent', 512);
        table.index(['user_id']);
    });

    await knex.schema.createTable('api_keys', (table) => {

        table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        table.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
        table.uuid('created_by').references('user_profiles.id').onDelete('SET NULL');
        table.string('name', 120).notNullable();
        table.string('prefix', 16).notNullable();
        table.string('key_hash', 64).notNullable().unique();
        table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        table.timestamp('last_used_at', { useTz: true });
        table.timestamp('revoked_at', { useTz: true });
        table.index(['tenant_id']);
    });
};


export const down = async (knex: Knex) => {

    for (const table of ['api_keys', 'sessions', 'magic_links', 'user_profiles', 'tenants']) {
        await knex.schema.dropTable(table);
    }
};
