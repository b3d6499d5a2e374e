import type { Knex } from 'knex';


// The call a stop request came from, so an opt-out can be shown to have been honoured

export const up = async (knex: Knex) => {

    await knex.raw('ALTER TABLE dnc_numbers ADD COLUMN call_id uuid REFERENCES calls (id) ON DELETE SET NULL');
};


export const down = async (knex: Knex) => {

    await knex.raw('ALTER TABLE dnc_numbers DROP COLUMN call_id');
};
