import type { Knex } from 'knex';


// Abandoned calls: the agent's first audio later than 2 s after the answer. Kept per call so a
// campaign's rate over any window can be counted, and shown to a regulator.

export const up = async (knex: Knex) => {

    await knex.raw('ALTER TABLE calls ADD COLUMN first_audio_ms integer, ADD COLUMN abandoned boolean');
    await knex.raw('CREATE INDEX calls_campaign_abandonment ON calls (campaign_id, answered_at) WHERE abandoned IS NOT NULL');
};


export const down = async (knex: Knex) => {

    await knex.raw('DROP INDEX calls_campaign_abandonment');
    await knex.raw('ALTER TABLE calls DROP COLUMN first_audio_ms, DROP COLUMN abandoned');
};
