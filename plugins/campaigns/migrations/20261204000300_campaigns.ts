import type { Knex } from 'knex';


export const up = async (knex: Knex) => {

    await knex.schema.createTable('clients', (table) => {

        table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        table.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
        table.string('name', 200).notNullable();
        table.string('email', 254);
        table.string('phone', 32);
        table.text('notes');
        table.timestamps(true, true);
        table.index(['tenant_id', 'created_at']);
    });

    await knex.schema.createTable('campaigns', (table) => {

        table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
        table.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
        table.uuid('client_id').references('clients.id').onDelete('SET NULL');
        table.string('name', 200).notNullable();
        table.text('description');
        table.text('system_prompt');
        table.string('voice_id', 200);
        table.string('goal', 500);
        table.string('status', 20).notNullable().defaultTo('draft');          // draft | running | paused | stopped | completed
        table.integer('max_concurrent_calls').notNullable();
        table.integer('max_retries').notNullable().defaultTo(3);
        table.integer('retry_delay_seconds').notNullable().defaultTo(1800);
        table.string('phone_region', 2);
        table.jsonb('script_config').notNullable().defaultTo('{}');
        table.jsonb('calling_config').notNullable().defaultTo('{}');
        table.integer('total_leads').notNullable().defaultTo(0);                 // kept by the leads table's triggers
        table.integer('calls_completed').notNullable().defaultTo(0);
        table.integer('calls_failed').notNullable().defaultTo(0);
        table.timestamps(true, true);
        table.timestamp('deleted_at', { useTz: true });
    });

    await knex.raw('CREATE INDEX campaigns_tenant_created ON campaigns (tenant_id, created_at DESC) WHERE deleted_at IS NULL');
};


export const down = async (knex: Knex) => {

    await knex.schema.dropTable('campaigns');
    await knex.schema.dropTable('clients');
};
