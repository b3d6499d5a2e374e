import type { Knex } from 'knex';


// When and how a lead consented to be called (prior express consent, TCPA); null when unknown

export const up = async (knex: Knex) => {

    await knex.raw('ALTER TABLE leads ADD COLUMN consent_at timestamptz, ADD COLUMN consent_source text');
};


export const down = async (knex: Knex) => {

    await knex.raw('ALTER TABLE leads DROP COLUMN consent_at, DROP COLUMN consent_source');
};
