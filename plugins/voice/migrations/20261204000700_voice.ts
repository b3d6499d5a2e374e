import type { Knex } from 'knex';


// What the voice agent keeps of a call: each turn of the conversation, as the caller heard it,
// with the latency of each agent reply and its parts.

export const up = async (knex: Knex) => {

    await knex.raw(`
        CREATE TABLE call_turns (
            id bigserial PRIMARY KEY,
            call_id uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            seq integer NOT NULL,
            speaker text NOT NULL CHECK (speaker IN ('agent', 'caller')),
            text text NOT NULL,
            started_ms integer NOT NULL,
            ended_ms integer NOT NULL,
            interrupted boolean NOT NULL DEFAULT false,
            response_ms real,
            endpointing_ms real,
            stt_ms real,
            llm_ms real,
            tts_ms real,
            overhead_ms real,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (call_id, seq)
        )
    `);
};


export const down = async (knex: Knex) => {

    await knex.schema.dropTable('call_turns');
};
