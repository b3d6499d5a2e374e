import type { Knex } from 'knex';


// The calls erased lately (to_number is erase.ts's marker), which the retention sweep reads every
// hour for what reached them after their erasure; few rows, so a small index

export const up = async (knex: Knex) => {

    await knex.raw(`CREATE INDEX calls_erased ON calls (updated_at) WHERE to_number = 'erased'`);
};


export const down = async (knex: Knex) => {

    await knex.raw('DROP INDEX calls_erased');
};
