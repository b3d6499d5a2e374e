import type { Knex } from 'knex';


export const up = async (knex: Knex) => {

    await knex.schema.createTable('plans', (table) => {

        table.string('id', 64).primary();
        table.string('name', 120).notNullable();
        table.text('description');
        table.decimal('price', 10, 2).notNullable();
        table.string('currency', 3).notNullable().defaultTo('USD');
        table.integer('minutes').notNullable();
        table.integer('max_concurrent_calls').notNullable();
        table.jsonb('features').notNullable().defaultTo('[]');
        table.boolean('is_active').notNullable().defaultTo(true);
        table.integer('sort_order').notNullable().defaultTo(0);
        table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    });

    await knex('plans').insert([
        {
            id: 'basic', name: 'Basic', description: 'For trying Talky on one campaign', price: 29, minutes: 100, max_concurrent_calls: 2, sort_order: 1,
            features: JSON.stringify(['1 campaign at a time', 'CSV import', 'Call transcripts'])
        },
        {
            id: 'pro', name: 'Pro', description: 'For teams calling every day', price: 99, minutes: 1000, max_concurrent_calls: 10, sort_order: 2,
            features: JSON.stringify(['Unlimited campaigns', 'CSV import', 'Call transcripts', 'Recordings', 'API keys', 'Live dashboard'])
        },
        {
            id: 'enterprise', name: 'Enterprise', description: 'For high-volume outbound', price: 499, minutes: 10000, max_concurrent_calls: 50, sort_order: 3,
            features: JSON.stringify(['Unlimited campaigns', 'CSV import', 'Call transcripts', 'Recordings', 'API keys', 'Live dashboard', 'Priority support'])
        }
    ]);
};


export const down = async (knex: Knex) => {

    await knex.schema.dropTable('plans');
};
