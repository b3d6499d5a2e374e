import type { Knex } from 'knex';


// A call back the called person asked for (the voice agent's tool): when the call ends, its
// job is scheduled then rather than by the retry rules

export const up = async (knex: Knex) => {

    await knex.raw('ALTER TABLE calls ADD COLUMN callback_at timestamptz');
};


export const down = async (knex: Knex) => {

    await knex.raw('ALTER TABLE calls DROP COLUMN callback_at');
};
