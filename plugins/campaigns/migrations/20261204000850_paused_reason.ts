import type { Knex } from 'knex';


// Why a campaign was paused by someone other than its owner, such as its tenant's suspension;
// cleared when it starts again

export const up = async (knex: Knex) => {

    await knex.raw('ALTER TABLE campaigns ADD COLUMN paused_reason text');
};


export const down = async (knex: Knex) => {

    await knex.raw('ALTER TABLE campaigns DROP COLUMN paused_reason');
};
