import type { Knex } from 'knex';


// The calls list filters by the number called, within a tenant

export const up = async (knex: Knex) => {

    await knex.raw('CREATE INDEX calls_tenant_number ON calls (tenant_id, to_number)');
};


export const down = async (knex: Knex) => {

    await knex.raw('DROP INDEX calls_tenant_number');
};
