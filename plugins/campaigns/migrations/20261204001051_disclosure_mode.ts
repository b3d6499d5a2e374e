import type { Knex } from 'knex';


// What Talky does with a campaign greeting that does not say the caller is an AI and who is
// calling: add a sentence that does, or refuse the campaign

export const up = async (knex: Knex) => {

    await knex.raw(`ALTER TABLE tenants ADD COLUMN disclosure_mode text NOT NULL DEFAULT 'add' CHECK (disclosure_mode IN ('add', 'refuse'))`);
};


export const down = async (knex: Knex) => {

    await knex.raw('ALTER TABLE tenants DROP COLUMN disclosure_mode');
};
