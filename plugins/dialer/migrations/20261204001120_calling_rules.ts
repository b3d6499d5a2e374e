import type { Knex } from 'knex';


// Calling rules are rows, so a new state or country needs no code: its hours in the called
// party's local time and, optionally, how many calls one number may get in 24 hours. A rule
// without a region holds for the whole country. A region is found from the number's prefix
// (libphonenumber does not tell a US number's state), so a new state brings its area codes.

const florida = ['239', '305', '321', '324', '352', '386', '407', '448', '561', '645', '656', '689', '727', '728', '754', '772', '786', '813', '850', '863', '904', '941', '954'];


export const up = async (knex: Knex) => {

    await knex.raw(`
        CREATE TABLE calling_rules (
            id serial PRIMARY KEY,
            country text NOT NULL,
            region text,
            local_start time NOT NULL,
            local_end time NOT NULL,
            max_calls_per_24h integer CHECK (max_calls_per_24h > 0),
            note text,
            CHECK (local_start < local_end)
        )
    `);

    await knex.raw('CREATE UNIQUE INDEX calling_rules_place ON calling_rules (country, COALESCE(region, \'\'))');

    await knex.raw(`
        CREATE TABLE phone_regions (
            prefix text PRIMARY KEY,
            country text NOT NULL,
            region text NOT NULL
        )
    `);

    await knex('calling_rules').insert([
        { country: 'US', region: null, local_start: '08:00', local_end: '21:00', note: 'TCPA, 47 CFR 64.1200(c)(1)' },
        { country: 'US', region: 'US-FL', local_start: '08:00', local_end: '20:00', max_calls_per_24h: 3, note: 'Florida Telephone Solicitation Act, 501.059' }
    ]);

    await knex('phone_regions').insert(florida.map((code) => ({ prefix: `+1${code}`, country: 'US', region: 'US-FL' })));

    // A tenant's days without calls, in the called party's local date

    await knex.raw(`
        CREATE TABLE tenant_holidays (
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            date date NOT NULL,
            name text,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, date)
        )
    `);
};


export const down = async (knex: Knex) => {

    await knex.raw('DROP TABLE tenant_holidays');
    await knex.raw('DROP TABLE phone_regions');
    await knex.raw('DROP TABLE calling_rules');
};
