import type { Knex } from 'knex';


// Data subject requests, one row each, with the person named only by a hash; and how long a
// tenant keeps recordings and transcripts (NULL: for ever)

export const up = async (knex: Knex) => {

    await knex.raw(`
        CREATE TABLE privacy_requests (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
            kind text NOT NULL CHECK (kind IN ('export', 'erase')),
            subject_hash text NOT NULL,
            requested_by uuid REFERENCES user_profiles (id) ON DELETE SET NULL,
            counts jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL DEFAULT now()
        )
    `);

    await knex.raw('CREATE INDEX privacy_requests_tenant_created ON privacy_requests (tenant_id, created_at DESC)');
    await knex.raw(`
        ALTER TABLE tenants
            ADD COLUMN recording_retention_days integer CHECK (recording_retention_days > 0),
            ADD COLUMN transcript_retention_days integer CHECK (transcript_retention_days > 0)
    `);
};


export const down = async (knex: Knex) => {

    await knex.raw('ALTER TABLE tenants DROP COLUMN recording_retention_days, DROP COLUMN transcript_retention_days');
    await knex.schema.dropTable('privacy_requests');
};
